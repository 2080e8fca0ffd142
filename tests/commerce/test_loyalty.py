"""The earning rule and the tiers (gateway/commerce/loyalty.py), and exactly-once keys
(gateway/commerce/idempotency.py): the parts that need no database."""

from __future__ import annotations

import pytest

from gateway.admission.auth import Principal
from gateway.commerce.idempotency import caller_of, fingerprint
from gateway.commerce.loyalty import points_for, tier_for
from gateway.database.scope import ADMIN, Scope
from gateway.settings import Settings


@pytest.mark.parametrize(("total_base", "kind", "cap", "points"), [
    (12_399, "SUPERMARKET", None, 123),  # one point per whole yuan, fen dropped
    (12_399, "RURAL_OUTLET", None, 246),  # doubled at rural outlets
    (99, "ONLINE_SHOP", None, 0),
    (5_000_000, "OVERSEAS", 10_000, 10_000),  # an imported order earns at most the cap
    (5_000_000, "OVERSEAS", 0, 0),
])
def test_points_per_whole_base_unit_by_channel_kind(total_base: int, kind: str, cap: int | None,
                                                    points: int) -> None:
    assert points_for(total_base=total_base, channel_kind=kind, cap=cap) == points


def test_the_tier_is_the_highest_threshold_reached() -> None:
    settings = Settings(tier_thresholds={"SILVER": 100, "GOLD": 200, "PLATINUM": 300})
    assert [tier_for(spend, settings) for spend in (0, 99, 100, 299, 300, 10**12)] == [
        "BRONZE", "BRONZE", "SILVER", "GOLD", "PLATINUM", "PLATINUM"]


def test_a_key_belongs_to_its_caller_and_its_input() -> None:
    partner = Principal(key_id="k1", name="us-partner", role="partner", channels=("ch_us",))
    assert caller_of(ADMIN, partner) == "us-partner"  # the key's name, unique
    assert caller_of(ADMIN) == "admin"
    assert caller_of(Scope(channels=frozenset({"ch_b", "ch_a"}))) == "partner:ch_a,ch_b"
    # the same input in another key order is the same request; another input is not
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1, "b": [1, 2]}) != fingerprint({"a": 1, "b": [2, 1]})
