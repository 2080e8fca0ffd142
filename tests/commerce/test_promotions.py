"""The rules of promotions (gateway/commerce/promotions.py) and the checks of new campaigns and
points (gateway/commerce/campaigns.py, points.py): the parts that need no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from gateway.commerce import promotions
from gateway.commerce.campaigns import check_campaign, check_rule
from gateway.commerce.fx import check_rate
from gateway.commerce.points import points_value
from gateway.errors import Rejected
from gateway.settings import Settings


def campaign(_id: str, *rules: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"_id": _id, "rules": list(rules), "channel_ids": [], "channel_kinds": [],
            "starts_local": datetime(2026, 10, 1), "ends_local": datetime(2026, 10, 8),
            **fields}


def rule(kind: str, target: str = "ORDER", **values: Any) -> dict[str, Any]:
    return {"kind": kind, "target": target, "skus": [], "percent_bp": None, "amounts": {},
            "min_spend": {}, "tiers": [], **values}


TEN_PERCENT = rule("PERCENT_OFF", percent_bp=1000)
LINES = [("sku_a", 2, 1000), ("sku_b", 1, 3000)]  # subtotal 50.00


def discounts(pricing: promotions.Pricing) -> list[list[tuple[str, int, str]]]:
    return [[(d.campaign_id, d.amount, d.level) for d in line.discounts]
            for line in pricing.lines]


def test_a_window_runs_in_each_channels_own_time_zone() -> None:
    golden = campaign("cmp_g")
    # midnight of 1 October in Shanghai is 16:00 UTC the day before; in Los Angeles 07:00 UTC
    assert promotions.running(golden, at=datetime(2026, 9, 30, 16, 0, tzinfo=UTC),
                              time_zone="Asia/Shanghai")
    assert not promotions.running(golden, at=datetime(2026, 9, 30, 16, 0, tzinfo=UTC),
                                  time_zone="America/Los_Angeles")
    assert promotions.running(golden, at=datetime(2026, 10, 1, 7, 0, tzinfo=UTC),
                              time_zone="America/Los_Angeles")
    # the end is exclusive: 8 October 00:00 in Shanghai has ended there, not in Los Angeles
    end = datetime(2026, 10, 7, 16, 0, tzinfo=UTC)
    assert not promotions.running(golden, at=end, time_zone="Asia/Shanghai")
    assert promotions.running(golden, at=end, time_zone="America/Los_Angeles")
    # the UTC span the database looks in holds every zone's window
    since, until = promotions.utc_span(datetime(2026, 10, 1), datetime(2026, 10, 8))
    assert (since, until) == (datetime(2026, 9, 30, 10), datetime(2026, 10, 8, 12))


def test_best_single_discount_per_line_then_one_order_discount_spread_over_the_lines() -> None:
    # given a 10 % order campaign, a 5.00-per-unit one on sku_a, and 30 % on sku_a
    campaigns = [
        campaign("cmp_order", TEN_PERCENT),
        campaign("cmp_amount", rule("AMOUNT_OFF", "SKUS", skus=["sku_a"],
                                    amounts={"CNY": 500})),
        campaign("cmp_pct", rule("PERCENT_OFF", "SKUS", skus=["sku_a"], percent_bp=3000)),
    ]
    pricing = promotions.price(LINES, campaigns=campaigns, currency="CNY", tier=None)
    # then sku_a takes the better line discount alone (2 x 5.00 = 10.00 beats 30 % = 6.00),
    # and 10 % of what is left (40.00) is spread 10.00 : 30.00 over the lines
    assert discounts(pricing) == [
        [("cmp_amount", 1000, "LINE"), ("cmp_order", 100, "ORDER")],
        [("cmp_order", 300, "ORDER")]]
    assert (pricing.subtotal, pricing.discount, pricing.total) == (5000, 1400, 3600)
    assert pricing.by_campaign() == {"cmp_amount": 1000, "cmp_order": 400}


def test_ties_go_to_the_coupons_campaign_then_to_the_smaller_id() -> None:
    a = campaign("cmp_a", rule("AMOUNT_OFF", amounts={"CNY": 500}))
    b = campaign("cmp_b", rule("AMOUNT_OFF", amounts={"CNY": 500}))
    plain = promotions.price(LINES, campaigns=[b, a], currency="CNY", tier=None)
    assert plain.by_campaign() == {"cmp_a": 500}
    coupon = promotions.price(LINES, campaigns=[a, b], currency="CNY", tier=None,
                              preferred="cmp_b")
    assert coupon.by_campaign() == {"cmp_b": 500}


def test_minimum_spend_tiers_and_currencies_decide_whether_a_rule_applies() -> None:
    member_price = campaign("cmp_m", rule("FIXED_PRICE", "SKUS", skus=["sku_b"],
                                          amounts={"CNY": 2500}, tiers=["GOLD"]))
    from_60 = campaign("cmp_60", rule("PERCENT_OFF", percent_bp=1000, min_spend={"CNY": 6000}))
    usd_only = campaign("cmp_usd", rule("AMOUNT_OFF", amounts={"USD": 100}))
    every = [member_price, from_60, usd_only]
    assert discounts(promotions.price(LINES, campaigns=every, currency="CNY",
                                      tier="SILVER")) == [[], []]
    assert discounts(promotions.price(LINES, campaigns=every, currency="CNY",
                                      tier="GOLD")) == [[], [("cmp_m", 500, "LINE")]]
    # a price at or above the offer's takes nothing; an anonymous order has no tier
    assert promotions.price(LINES, campaigns=every, currency="CNY", tier=None).discount == 0
    bigger = [("sku_a", 4, 1000), ("sku_b", 1, 3000)]  # 70.00: reaches the minimum spend
    assert promotions.price(bigger, campaigns=every, currency="CNY",
                            tier=None).by_campaign() == {"cmp_60": 700}
    # with the member price, what is left (65.00) still reaches it: 6.50 off
    assert promotions.price(bigger, campaigns=every, currency="CNY",
                            tier="GOLD").by_campaign() == {"cmp_m": 500, "cmp_60": 650}


def test_a_discount_never_exceeds_what_it_applies_to() -> None:
    huge = campaign("cmp_h", rule("AMOUNT_OFF", "SKUS", skus=["sku_a"], amounts={"CNY": 9999}),
                    rule("AMOUNT_OFF", amounts={"CNY": 99_999}))
    pricing = promotions.price(LINES, campaigns=[huge], currency="CNY", tier=None)
    assert (pricing.discount, pricing.total) == (5000, 0)
    assert [line.discount for line in pricing.lines] == [2000, 3000]


@pytest.mark.parametrize(("amount", "weights", "shares"), [
    (100, [1000, 3000], [25, 75]),
    (10, [1, 1, 1], [4, 3, 3]),  # the remainder to the earlier line on a tie
    (7, [2, 5, 0], [2, 5, 0]),
    (5, [0, 0], [0, 0]),
])
def test_spread_sums_exactly_by_largest_remainder(amount: int, weights: list[int],
                                                  shares: list[int]) -> None:
    assert promotions.spread(amount, weights) == shares


def test_percentages_round_half_to_even() -> None:
    assert [promotions.percent_of(amount, 1000) for amount in (25, 35, 44)] == [2, 4, 4]
    assert promotions.percent_of(1999, 1250) == 250  # 249.875


def test_a_campaign_is_checked_before_anything_is_read() -> None:
    good = check_rule(kind="PERCENT_OFF", target="ORDER", skus=None, percent=Decimal("12.5"),
                      amounts=None, min_spend=[("CNY", 10000)], tiers=["GOLD"], field="rules.0",
                      ceiling=10**8)
    assert good.document() == rule("PERCENT_OFF", percent_bp=1250, min_spend={"CNY": 10000},
                                   tiers=["GOLD"])
    bad = [
        dict(kind="FIXED_PRICE", target="ORDER", skus=None, percent=None,
             amounts=[("CNY", 1)]),
        dict(kind="PERCENT_OFF", target="ORDER", skus=None, percent=Decimal("100.001"),
             amounts=None),
        dict(kind="PERCENT_OFF", target="ORDER", skus=None, percent=Decimal(0), amounts=None),
        dict(kind="AMOUNT_OFF", target="ORDER", skus=None, percent=None, amounts=None),
        dict(kind="AMOUNT_OFF", target="ORDER", skus=None, percent=None,
             amounts=[("CNY", 1), ("CNY", 2)]),
        dict(kind="AMOUNT_OFF", target="SKUS", skus=[], percent=None, amounts=[("cny", 1)]),
    ]
    for values in bad:
        with pytest.raises(Rejected) as refused:
            check_rule(**values, min_spend=None, tiers=None,  # type: ignore[arg-type]
                       field="rules.0", ceiling=10**8)
        assert refused.value.errors[0].code == "INVALID", values
    with pytest.raises(Rejected) as refused:
        check_campaign(name="Late", channels=None, kinds=["OVERSEAS"],
                       starts=datetime(2026, 10, 8), ends=datetime(2026, 10, 1),
                       coupon_required=False, rules=[good], idempotency_key="k")
    assert refused.value.errors[0].field == "startsAt"


def test_points_pay_their_value_rounded_down_at_the_orders_rate() -> None:
    settings = Settings(point_value_minor_units=1)
    assert points_value(500, currency="CNY", rate=Decimal(1), settings=settings) == 500
    # 5.00 CNY at 1.6180 CNY per MYR is 3.0902... MYR: 3.09, never 3.10
    assert points_value(500, currency="MYR", rate=Decimal("1.6180"), settings=settings) == 309
    assert points_value(1, currency="USD", rate=Decimal("7.1240"), settings=settings) == 0
    richer = Settings(point_value_minor_units=10)
    assert points_value(500, currency="CNY", rate=Decimal(1), settings=richer) == 5000


def test_a_rate_is_positive_bounded_and_not_the_base_currency() -> None:
    assert check_rate("USD", Decimal("7.2031"), base_currency="CNY") == ("USD", Decimal("7.2031"))
    for currency, rate in (("CNY", Decimal(1)), ("usd", Decimal(7)), ("USD", Decimal(0)),
                           ("USD", Decimal("1e6")), ("USD", Decimal("0.000000001"))):
        with pytest.raises(Rejected):
            check_rate(currency, rate, base_currency="CNY")
