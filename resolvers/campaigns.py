"""Campaigns, their rules and coupons (the rules of promotions: gateway/commerce/promotions.py).

An admin sees every campaign; a partner the campaigns that cover one of its channels (by id
or by kind), with only its own channels under ``channels``, and results of its channels only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from gateway import ids
from gateway.admission.cost import cost_note
from gateway.clock import utc
from gateway.context import Info
from gateway.database import campaigns as repo
from gateway.database.query import Doc, Keyset
from gateway.loaders.campaigns import seen_by
from resolvers.analytics import SINCE, UNTIL
from resolvers.channels import Channel, ChannelKind
from resolvers.members import MemberTier
from resolvers.node import Node
from resolvers.relay import (
    AfterArgument,
    BeforeArgument,
    Connection,
    FirstArgument,
    LastArgument,
    connection,
    list_tag,
    paging,
)
from resolvers.scalars import LocalDateTime, Long, Money, money

if TYPE_CHECKING:
    from resolvers.campaign_results import CampaignResults


@strawberry.enum(description="What a promotion rule takes off.")
class PromotionKind(Enum):
    PERCENT_OFF = strawberry.enum_value(
        "PERCENT_OFF", description="A percentage of the order, or of each line of a SKU set "
        "(half to even to the minor unit).")
    AMOUNT_OFF = strawberry.enum_value(
        "AMOUNT_OFF", description="An amount off the order, or off each unit of a SKU set, "
        "one per currency.")
    FIXED_PRICE = strawberry.enum_value(
        "FIXED_PRICE", description="A unit price for a SKU set, one per currency (member "
        "prices, with `tiers`); a price at or above the offer's takes nothing off.")


@strawberry.enum(description="What a promotion rule applies to.")
class PromotionTarget(Enum):
    ORDER = strawberry.enum_value(
        "ORDER", description="The order, after line discounts (one order discount per order).")
    SKUS = strawberry.enum_value(
        "SKUS", description="Each line of the rule's SKUs (one discount per line).")


@strawberry.type(description="One rule of a campaign. Campaigns combine so: each line takes "
                 "the single best SKU discount of every running campaign, then the order the "
                 "single best order discount, spread over its lines; ties go to a coupon's "
                 "campaign, then to the smaller campaign id.")
class PromotionRule:
    kind: PromotionKind = strawberry.field(description="What it takes off.")
    target: PromotionTarget = strawberry.field(description="The order, or a SKU set.")
    skus: list[strawberry.ID] = strawberry.field(
        description="The SKU set of a SKUS rule (empty for ORDER).")
    percent_off: Decimal | None = strawberry.field(
        description="PERCENT_OFF: the percentage, up to two decimals (\"12.5\").")
    amounts: list[Money] = strawberry.field(
        description="AMOUNT_OFF: the amount off per currency; FIXED_PRICE: the unit price "
        "per currency. Empty for PERCENT_OFF.")
    min_spend: list[Money] = strawberry.field(
        description="Minimum spend per currency, if any: the list-price subtotal for a SKUS "
        "rule, the subtotal after line discounts for an ORDER rule.")
    tiers: list[MemberTier] = strawberry.field(
        description="Only for members of these tiers (empty: everyone, anonymous orders "
        "included).")

    @classmethod
    def from_doc(cls, doc: Doc) -> PromotionRule:
        bp = doc.get("percent_bp")
        return cls(
            kind=PromotionKind(doc["kind"]), target=PromotionTarget(doc["target"]),
            skus=[strawberry.ID(s) for s in doc.get("skus", [])],
            percent_off=None if bp is None else (Decimal(bp) / 100).normalize(),
            amounts=[money(v, c) for c, v in sorted((doc.get("amounts") or {}).items())],
            min_spend=[money(v, c) for c, v in sorted((doc.get("min_spend") or {}).items())],
            tiers=[MemberTier(t) for t in doc.get("tiers", [])],
        )


@strawberry.type(description="A coupon code of a campaign: redeemable in any channel the "
                 "campaign covers while it runs there, once per use.")
class Coupon:
    id: strawberry.ID = strawberry.field(description="cpn_ followed by the code.")
    code: str = strawberry.field(description="The code, upper case (redeeming ignores case).")
    max_uses: Long = strawberry.field(description="How many orders may use it (1: single use).")
    uses: Long = strawberry.field(
        description="Uses taken by orders, in every channel; a cancelled order gives its use "
        "back.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")

    @classmethod
    def from_doc(cls, doc: Doc) -> Coupon:
        return cls(id=strawberry.ID(f"cpn_{doc['_id']}"), code=doc["_id"],
                   max_uses=Long(doc["max_uses"]), uses=Long(doc["uses"]),
                   created_at=utc(doc["created_at"]))


@strawberry.type(description="A promotion campaign across channels, running in a window read "
                 "in each channel's own time zone.")
class Campaign(Node):
    id: strawberry.ID = strawberry.field(description="Campaign id, prefix cmp_.")
    name: str = strawberry.field(description="Display name.")
    channel_kinds: list[ChannelKind] = strawberry.field(
        description="It covers every channel of these kinds (besides its listed channels).")
    starts_at: LocalDateTime = strawberry.field(
        description="Start, inclusive, as a wall-clock time in each channel's zone.")
    ends_at: LocalDateTime = strawberry.field(
        description="End, exclusive, as a wall-clock time in each channel's zone.")
    coupon_required: bool = strawberry.field(
        description="True: it applies only to orders that give one of its coupons.")
    rules: list[PromotionRule] = strawberry.field(description="Its rules.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    channel_ids: strawberry.Private[list[str]]

    @strawberry.field(description="The channels it covers (listed, or of its kinds), by id; "
                      "for a partner key, its own.")
    async def channels(self, info: Info) -> list[Channel]:
        every = await info.context.loaders.channel_list()
        return [Channel.from_doc(doc) for doc in every
                if doc["_id"] in self.channel_ids
                or ChannelKind(doc["kind"]) in self.channel_kinds]

    @strawberry.field(description="Its coupons, by code.")
    async def coupons(
        self, info: Info, first: FirstArgument = None, after: AfterArgument = None,
        last: LastArgument = None, before: BeforeArgument = None,
    ) -> Connection[Coupon]:
        tag = list_tag("coupons", self.id)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=False)
        docs = await repo.coupons_page(info.context.db, campaign_id=self.id, paging=page)
        return connection(docs, page, Coupon.from_doc, lambda d: Keyset(id=d["_id"]), tag)

    @strawberry.field(description="Orders the campaign took something off (not cancelled) "
                      "in a window: orders, units, revenue, discount given, new and returning "
                      "members, per channel kind, per channel and per local day; for a "
                      "partner key, its channels only. " + cost_note("Campaign.results"))
    async def results(
        self, info: Info, since: Annotated[datetime, SINCE], until: Annotated[datetime, UNTIL],
    ) -> Annotated[CampaignResults, strawberry.lazy("resolvers.campaign_results")]:
        from resolvers.campaign_results import campaign_results

        return await campaign_results(info, self.id, since, until)

    @classmethod
    def from_doc(cls, doc: Doc) -> Campaign:
        return cls(
            id=strawberry.ID(doc["_id"]), name=doc["name"],
            channel_kinds=[ChannelKind(k) for k in doc.get("channel_kinds", [])],
            starts_at=LocalDateTime(doc["starts_local"].replace(tzinfo=None)),
            ends_at=LocalDateTime(doc["ends_local"].replace(tzinfo=None)),
            coupon_required=doc["coupon_required"],
            rules=[PromotionRule.from_doc(r) for r in doc["rules"]],
            created_at=utc(doc["created_at"]), channel_ids=list(doc.get("channel_ids", [])),
        )


async def load_campaign(info: Info, campaign_id: str | None) -> Campaign | None:
    """The campaign through the request's loader; None when unknown or not the caller's."""
    if campaign_id is None:
        return None
    doc = await info.context.loaders.campaigns_by_id.load(campaign_id)
    return None if doc is None else Campaign.from_doc(doc)


@strawberry.input(description="Narrows the campaign list.")
class CampaignFilter:
    channel: strawberry.ID | None = strawberry.field(
        default=None, description="Only campaigns covering this channel (ch_ id).")


@strawberry.type
class CampaignQuery:
    @strawberry.field(description="One campaign by id; null when unknown (or, for a partner "
                      "key, when it covers none of its channels).")
    async def campaign(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="cmp_ id.")]
    ) -> Campaign | None:
        return await load_campaign(info, ids.check(id, "cmp_"))

    @strawberry.field(description="Campaigns by id, a page at a time; a partner key sees those "
                      "covering one of its channels.")
    async def campaigns(
        self, info: Info,
        filter: Annotated[CampaignFilter | None, strawberry.argument(description="Filter.")]
        = None,
        first: FirstArgument = None, after: AfterArgument = None,
        last: LastArgument = None, before: BeforeArgument = None,
    ) -> Connection[Campaign]:
        channel_id = ids.check(filter.channel, "ch_", field="filter.channel") if (
            filter and filter.channel) else None
        tag = list_tag("campaigns", channel_id)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=False)
        context = info.context
        kind = None
        if channel_id is not None:
            channel: Any = await context.loaders.channels_by_id.load(channel_id)
            if channel is None:  # unknown, or not the caller's: no campaign covers it for them
                return connection([], page, Campaign.from_doc, lambda d: Keyset(id=d["_id"]),
                                  tag)
            kind = channel["kind"]
        docs = await repo.campaigns_page(context.db, seen_by=await seen_by(context.loaders),
                                         paging=page, channel_id=channel_id, kind=kind)
        return connection(docs, page, Campaign.from_doc, lambda d: Keyset(id=d["_id"]), tag)
