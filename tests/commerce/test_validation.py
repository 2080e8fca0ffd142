"""The input rules of every write (gateway/commerce/validation.py): no server, no database."""

from __future__ import annotations

import pytest

from gateway.commerce import validation
from gateway.errors import Rejected, UserError


def refused(error: Rejected) -> list[UserError]:
    return error.errors


def test_a_quantity_is_1_to_the_ceiling() -> None:
    assert validation.quantity(1, field="q", ceiling=999) == 1
    assert validation.quantity(999, field="q", ceiling=999) == 999
    with pytest.raises(Rejected) as low:
        validation.quantity(0, field="lines.0.quantity", ceiling=999)
    assert refused(low.value) == [UserError("lines.0.quantity", "INVALID",
                                            "quantity must be at least 1, got 0.")]
    with pytest.raises(Rejected) as high:
        validation.quantity(1000, field="lines.0.quantity", ceiling=999)
    assert refused(high.value) == [UserError(
        "lines.0.quantity", "LIMIT_EXCEEDED",
        "quantity may be at most 999 per line (OMNIGW_MAX_LINE_QUANTITY), got 1000.")]


def test_a_worth_above_the_ceiling_names_both_amounts_in_the_base_currency() -> None:
    assert validation.worth(50_000, ceiling=50_000, base_currency="CNY", what="An order",
                            field="lines") == 50_000
    with pytest.raises(Rejected) as over:
        validation.worth(50_001, ceiling=50_000, base_currency="CNY", what="An order",
                         field="lines")
    assert refused(over.value) == [UserError(
        "lines", "LIMIT_EXCEEDED", "An order may be worth at most 500.00 CNY "
        "(OMNIGW_MAX_ORDER_TOTAL_BASE); this one is 500.01 CNY.")]


@pytest.mark.parametrize("value", ["", "k" * 256, "tab\there"])
def test_an_idempotency_key_is_1_to_255_printable_characters(value: str) -> None:
    with pytest.raises(Rejected) as bad:
        validation.idempotency_key(value)
    assert refused(bad.value) == [UserError(
        "idempotencyKey", "INVALID", "idempotencyKey must be 1 to 255 printable characters.")]
    assert validation.idempotency_key("k" * 255) == "k" * 255


def test_text_is_bounded_and_has_no_control_characters() -> None:
    assert validation.text("delivery 4411", field="reason") == "delivery 4411"
    for value in ("", "x" * 201, "line\nbreak"):
        with pytest.raises(Rejected) as bad:
            validation.text(value, field="reason")
        assert refused(bad.value) == [UserError(
            "reason", "INVALID", "reason must be 1 to 200 printable characters.")]
