"""placeOrder's checks that need no database (gateway/commerce/orders.py), and the rule that
says where a location may be used (gateway/commerce/common.py)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.commerce.common import location_problem
from gateway.commerce.orders import Line, PlaceOrder, check_place_order
from gateway.errors import BadUserInput, Rejected, UserError

GOOD: dict[str, Any] = {"channel": "ch_freshmart", "location": "loc_fm_1", "member": "mem_1",
                        "identity": None, "lines": [("sku_a", 2), ("sku_b", 1)],
                        "idempotency_key": "k-1", "max_quantity": 999}


def test_a_well_formed_order_is_checked_into_its_lines() -> None:
    order = check_place_order(**GOOD)
    assert order == PlaceOrder(channel_id="ch_freshmart", location_id="loc_fm_1",
                               member_id="mem_1", identity=None,
                               lines=(Line("sku_a", 2), Line("sku_b", 1)),
                               idempotency_key="k-1")
    # the fingerprint of a retry is the same input, whatever object carries it
    assert order.fingerprint_input() == check_place_order(**GOOD).fingerprint_input() == {
        "channel": "ch_freshmart", "location": "loc_fm_1", "member": "mem_1", "identity": [],
        "lines": [["sku_a", 2], ["sku_b", 1]]}


def test_every_bad_line_is_named_at_once() -> None:
    with pytest.raises(Rejected) as refused:
        check_place_order(**{**GOOD, "lines": [("sku_a", 0), ("sku_b", 1), ("sku_c", 1000),
                                               ("sku_b", 2)]})
    assert refused.value.errors == [
        UserError("lines.0.quantity", "INVALID", "quantity must be at least 1, got 0."),
        UserError("lines.2.quantity", "LIMIT_EXCEEDED",
                  "quantity may be at most 999 per line (OMNIGW_MAX_LINE_QUANTITY), got 1000."),
        UserError("lines.3.sku", "INVALID", "sku_b appears on two lines; use one line."),
    ]


@pytest.mark.parametrize(("change", "error"), [
    ({"lines": []}, UserError("lines", "INVALID", "An order has 1 to 50 lines.")),
    ({"lines": [(f"sku_{n}", 1) for n in range(51)]},
     UserError("lines", "INVALID", "An order has 1 to 50 lines.")),
    ({"identity": ("ch_freshmart", "card-1")},
     UserError("member", "INVALID", "Give member or identity, not both.")),
])
def test_an_order_that_breaks_a_rule_is_one_user_error(change: dict[str, Any],
                                                       error: UserError) -> None:
    with pytest.raises(Rejected) as refused:
        check_place_order(**{**GOOD, **change})
    assert refused.value.errors == [error]


def test_a_malformed_id_is_bad_user_input_naming_the_field() -> None:
    with pytest.raises(BadUserInput) as malformed:
        check_place_order(**{**GOOD, "lines": [("sku_a", 1), ("bad sku", 1)]})
    assert (malformed.value.field, malformed.value.message) == (
        "lines.1.sku", "Malformed lines.1.sku 'bad sku': expected an id starting with 'sku_'.")


def test_a_location_must_exist_and_belong_to_the_channel() -> None:
    channel = {"_id": "ch_freshmart"}
    assert location_problem({"channel_id": "ch_freshmart"}, location_id="loc_1",
                            channel=channel) is None
    assert location_problem(None, location_id="loc_1", channel=channel) == (
        "NOT_FOUND", "Unknown location loc_1.")
    assert location_problem({"channel_id": "ch_villagelink"}, location_id="loc_1",
                            channel=channel) == (
        "INVALID", "loc_1 is not a location of ch_freshmart.")
