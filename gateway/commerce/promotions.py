"""Promotions: which campaigns run for an order, and what each line is discounted. Plain Python.

A campaign (``campaigns``, written by ``createCampaign``, see gateway/commerce/campaigns.py)
covers channels by id and/or every channel of some kinds, and runs from ``starts_local`` to
``ends_local`` (wall-clock times, half-open) **in each channel's own time zone**: a campaign
from 2026-10-01T00:00 starts at midnight in Shanghai, and fifteen hours later at midnight in
Los Angeles. Its rules, each one of:

``PERCENT_OFF``
    ``percent_bp`` basis points (1250 = 12.5 %) off the order, or off each line of a SKU set;
    rounded half to even to the minor unit.
``AMOUNT_OFF``
    so many minor units off the order, or off each unit of a SKU set; one amount per currency
    (``amounts``).
``FIXED_PRICE``
    a unit price for a SKU set (member prices: with ``tiers``), one per currency; a price at
    or above the offer's gives nothing.

and conditions: ``tiers`` (only members of these tiers; an order without a member never
qualifies) and ``min_spend`` (one amount per currency: a SKU rule needs the order's list-price
subtotal, an order rule the subtotal after line discounts, to reach it). A rule without an
amount for the order's currency does not apply in that currency (``createCampaign`` refuses
a campaign that lacks one for a channel it covers).

How campaigns combine (the one rule, applied by :func:`price`)
    1. **Lines first, best single discount per line.** Every SKU rule of every campaign that
       runs competes for each line; the line takes the one that saves the most, alone (line
       discounts never stack).
    2. **Then one order discount.** Every order rule competes on the subtotal after line
       discounts; the order takes the one that saves the most, alone. It is spread over the
       lines in proportion to what they still cost (largest remainder, then line order), so
       each line records its share.
    3. **Ties** go to the coupon's campaign (a coupon given at checkout), then to the smaller
       campaign id.
    A campaign that needs a coupon competes only when its coupon is given; if it then wins
    nothing on the order, the order is refused (``COUPON_NOT_APPLICABLE``) rather than spend
    the coupon for nothing (gateway/commerce/pricing.py).

A discount never exceeds what its line (or the order) costs, so a total is never negative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

Doc = dict[str, Any]

KINDS: Final = ("PERCENT_OFF", "AMOUNT_OFF", "FIXED_PRICE")
TARGETS: Final = ("ORDER", "SKUS")
# Local times happen between UTC-12 and UTC+14: a campaign's UTC span is its local window
# widened by these, so one indexed range finds the campaigns that may run (``window_from``,
# ``window_to``), and :func:`running` decides in the channel's zone.
EARLIEST_ZONE: Final = timedelta(hours=14)
LATEST_ZONE: Final = timedelta(hours=12)


def utc_span(starts_local: datetime, ends_local: datetime) -> tuple[datetime, datetime]:
    """The UTC instants between which a campaign may run in some time zone (naive UTC)."""
    return starts_local - EARLIEST_ZONE, ends_local + LATEST_ZONE


def running(campaign: Mapping[str, Any], *, at: datetime, time_zone: str) -> bool:
    """Whether the campaign runs at the instant ``at`` (aware) in a channel of that zone."""
    local = at.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)
    starts: datetime = campaign["starts_local"]
    ends: datetime = campaign["ends_local"]
    return starts.replace(tzinfo=None) <= local < ends.replace(tzinfo=None)


def covers(campaign: Mapping[str, Any], *, channel_id: str, kind: str) -> bool:
    """Whether the campaign covers the channel (by id or by kind)."""
    return (channel_id in campaign.get("channel_ids", ())
            or kind in campaign.get("channel_kinds", ()))


@dataclass(frozen=True)
class Discount:
    """What one campaign took off one line."""

    campaign_id: str
    amount: int
    level: str  # "LINE" or "ORDER" (a share of an order discount)


@dataclass(frozen=True)
class PricedLine:
    sku: str
    quantity: int
    unit_price: int
    discounts: tuple[Discount, ...] = ()

    @property
    def list_total(self) -> int:
        return self.quantity * self.unit_price

    @property
    def discount(self) -> int:
        return sum(d.amount for d in self.discounts)

    def document(self) -> Doc:
        """The line as an order stores it (discount fields only when discounted)."""
        doc: Doc = {"sku": self.sku, "quantity": self.quantity, "unit_price": self.unit_price}
        if self.discounts:
            doc["discount"] = self.discount
            doc["discounts"] = [{"campaign_id": d.campaign_id, "amount": d.amount,
                                 "level": d.level} for d in self.discounts]
        return doc


@dataclass(frozen=True)
class Pricing:
    """An order's lines after promotions, and what each campaign gave."""

    lines: tuple[PricedLine, ...]

    @property
    def subtotal(self) -> int:
        return sum(line.list_total for line in self.lines)

    @property
    def discount(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount

    def by_campaign(self) -> dict[str, int]:
        """Minor units each campaign took off, by campaign id (in first-applied order)."""
        given: dict[str, int] = {}
        for line in self.lines:
            for d in line.discounts:
                given[d.campaign_id] = given.get(d.campaign_id, 0) + d.amount
        return given


@dataclass(frozen=True)
class _Offer:
    """A candidate discount: how much, and who gives it (for the tie rule)."""

    amount: int
    campaign_id: str
    preferred: bool

    def beats(self, other: _Offer | None) -> bool:
        """More saved wins; then the coupon's campaign; then the smaller campaign id."""
        if other is None:
            return self.amount > 0
        if self.amount != other.amount:
            return self.amount > other.amount
        if self.preferred != other.preferred:
            return self.preferred
        return self.campaign_id < other.campaign_id


def percent_of(amount: int, basis_points: int) -> int:
    """``basis_points`` / 10,000 of ``amount``, half to even to the minor unit."""
    exact = Decimal(amount) * Decimal(basis_points) / Decimal(10_000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _qualifies(rule: Mapping[str, Any], *, currency: str, spend: int, tier: str | None) -> bool:
    tiers = rule.get("tiers") or ()
    if tiers and tier not in tiers:
        return False
    minimum = rule.get("min_spend") or {}
    if minimum and (currency not in minimum or spend < minimum[currency]):
        return False
    return rule["kind"] == "PERCENT_OFF" or currency in (rule.get("amounts") or {})


def line_saving(rule: Mapping[str, Any], *, line: PricedLine, currency: str) -> int:
    """What a SKU rule takes off one line (0 when the line is not in its SKU set)."""
    if rule["target"] != "SKUS" or line.sku not in rule["skus"]:
        return 0
    total = line.list_total
    if rule["kind"] == "PERCENT_OFF":
        return min(total, percent_of(total, rule["percent_bp"]))
    value = int(rule["amounts"][currency])
    if rule["kind"] == "AMOUNT_OFF":
        return min(total, line.quantity * value)
    return max(0, total - line.quantity * value)  # FIXED_PRICE


def order_saving(rule: Mapping[str, Any], *, subtotal: int, currency: str) -> int:
    """What an order rule takes off ``subtotal``."""
    if rule["kind"] == "PERCENT_OFF":
        return min(subtotal, percent_of(subtotal, rule["percent_bp"]))
    return min(subtotal, int(rule["amounts"][currency]))


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` split in proportion to ``weights`` (largest remainder; ties to the earlier
    line), summing exactly to ``amount`` (0 everywhere when the weights are all 0)."""
    whole = sum(weights)
    if whole == 0 or amount == 0:
        return [0] * len(weights)
    shares = [amount * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % whole), i))
    for i in remainders[:amount - sum(shares)]:
        shares[i] += 1
    return shares


def price(
    lines: Sequence[tuple[str, int, int]], *, campaigns: Sequence[Mapping[str, Any]],
    currency: str, tier: str | None, preferred: str | None = None,
) -> Pricing:
    """Apply ``campaigns`` (those that run for this order: covering its channel, running now,
    a coupon campaign only with its coupon) to ``lines`` of ``(sku, quantity, unit price)``,
    by the rule of the module docstring. ``preferred``: the coupon's campaign."""
    priced = [PricedLine(sku, quantity, unit) for sku, quantity, unit in lines]
    list_subtotal = sum(line.list_total for line in priced)
    rules = [(c["_id"], rule) for c in campaigns for rule in c["rules"]]
    for i, line in enumerate(priced):
        best: _Offer | None = None
        for campaign_id, rule in rules:
            if rule["target"] == "SKUS" and _qualifies(rule, currency=currency,
                                                       spend=list_subtotal, tier=tier):
                offer = _Offer(line_saving(rule, line=line, currency=currency), campaign_id,
                               campaign_id == preferred)
                if offer.beats(best):
                    best = offer
        if best is not None:
            priced[i] = PricedLine(line.sku, line.quantity, line.unit_price,
                                   (Discount(best.campaign_id, best.amount, "LINE"),))
    remaining = [line.list_total - line.discount for line in priced]
    after_lines = sum(remaining)
    best = None
    for campaign_id, rule in rules:
        if rule["target"] == "ORDER" and _qualifies(rule, currency=currency, spend=after_lines,
                                                    tier=tier):
            offer = _Offer(order_saving(rule, subtotal=after_lines, currency=currency),
                           campaign_id, campaign_id == preferred)
            if offer.beats(best):
                best = offer
    if best is not None:
        for i, share in enumerate(spread(best.amount, remaining)):
            if share:
                line = priced[i]
                priced[i] = PricedLine(line.sku, line.quantity, line.unit_price,
                                       (*line.discounts,
                                        Discount(best.campaign_id, share, "ORDER")))
    return Pricing(tuple(priced))
