"""``omnichannelReach``: how many members are active in several kinds of channel.

A member is active in a channel in the window when they have an identified visit or an order
that was not cancelled there (an order refunded in full still makes its member active). Spend
is what ``lifetimeValue`` counts, for the orders placed in the window: each order's total less
what was refunded of it, whenever (refunds of returns included), at its FX snapshot
(``total_base - refunded_base``), or its net total at today's rate when it has no snapshot; a
cancelled order counts nothing (``gateway.database.rollups.SPEND_BASE``, the rollups' own
definition). Three database commands: one aggregate on visits, one on orders, one find of
channels (plus the channels loader's one find when channel fields are selected: the list is
not primed into the loader, so that the count does not depend on which field runs first;
plus one find of ``fx_rates`` only when an order has no snapshot).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from gateway import analytics as rules
from gateway.admission.cost import cost_note
from gateway.context import Info
from gateway.database import analytics as repo
from gateway.database import channels as channel_repo
from resolvers.analytics import SINCE, UNTIL, window
from resolvers.channels import Channel, ChannelKind, load_channel
from resolvers.scalars import Long, Money, money


@strawberry.type(description="Members active in exactly this many channel kinds.")
class ReachByKindCount:
    kinds: int = strawberry.field(description="Number of channel kinds, 1 to 4.")
    members: Long = strawberry.field(description="Members active in exactly that many kinds.")


@strawberry.type(description="Members active in one channel.")
class ChannelReach:
    channel_id: strawberry.Private[str]
    members: Long = strawberry.field(description="Members active in the channel.")

    @strawberry.field(description="The channel.")
    async def channel(self, info: Info) -> Channel | None:
        return await load_channel(info, self.channel_id)


@strawberry.type(description="Members active in both channels of a pair.")
class ChannelOverlap:
    first_id: strawberry.Private[str]
    second_id: strawberry.Private[str]
    members: Long = strawberry.field(description="Members active in both channels.")

    @strawberry.field(description="The pair's first channel (smaller id).")
    async def first(self, info: Info) -> Channel | None:
        return await load_channel(info, self.first_id)

    @strawberry.field(description="The pair's second channel (larger id).")
    async def second(self, info: Info) -> Channel | None:
        return await load_channel(info, self.second_id)


@strawberry.type(description="Members active in both kinds of a pair.")
class KindOverlap:
    first: ChannelKind = strawberry.field(description="The pair's first kind (by name).")
    second: ChannelKind = strawberry.field(description="The pair's second kind (by name).")
    members: Long = strawberry.field(description="Members active in both kinds.")


@strawberry.type(description="Online and offline, connected: members across channel kinds.")
class OmnichannelReach:
    active_members: Long = strawberry.field(description="Members active in any channel.")
    by_kind_count: list[ReachByKindCount] = strawberry.field(
        description="Members active in exactly 1, 2, 3 and 4 kinds (four entries)."
    )
    channels: list[ChannelReach] = strawberry.field(
        description="Members active per channel, every channel by id."
    )
    channel_overlaps: list[ChannelOverlap] = strawberry.field(
        description="Every pair of channels (by id), with the members active in both."
    )
    kind_overlaps: list[KindOverlap] = strawberry.field(
        description="Every pair of channel kinds (by name), with the members active in both."
    )
    spend_base: Money | None = strawberry.field(
        description="Base-currency spend of the orders placed in the window, net of refunds "
        "(whenever refunded, returns included) as lifetimeValue counts it: each order's total "
        "at its FX snapshot less what was refunded of it; a cancelled order counts nothing. "
        "Null when an order has neither an FX snapshot nor a rate today."
    )
    multi_kind_spend_base: Money | None = strawberry.field(
        description="The part of spendBase (net of refunds) from members active in more "
        "than one kind."
    )
    multi_kind_spend_share: Decimal | None = strawberry.field(
        description="multiKindSpendBase / spendBase, 4 places, half to even; null when "
        "spendBase is zero or null."
    )


async def omnichannel_reach(info: Info, since: datetime, until: datetime) -> OmnichannelReach:
    w = window(info, since, until)
    context = info.context
    rows = await repo.reach_rows(context.db, w, scope=context.scope)
    channel_docs = await channel_repo.list_channels(context.db, scope=context.scope)
    base = context.settings.base_currency
    rates = await context.loaders.fx_rates.load(base) if rules.needs_rates(rows.spend) else None
    spend = rules.spend_by_member(rows.spend, rates)
    missing_rate = spend is None
    kind_of = {doc["_id"]: doc["kind"] for doc in channel_docs}
    table = rules.reach(rows.activity, spend or {}, kind_of)
    total, multi = table.total_spend, table.multi_kind_spend
    return OmnichannelReach(
        active_members=Long(len(table.channels_of)),
        by_kind_count=[ReachByKindCount(kinds=k, members=Long(n))
                       for k, n in table.members_in_kind_count().items()],
        channels=[ChannelReach(channel_id=c, members=Long(table.active_in(c)))
                  for c in sorted(kind_of)],
        channel_overlaps=[ChannelOverlap(first_id=a, second_id=b, members=Long(n))
                          for a, b, n in table.overlaps(kind_of, "channels")],
        kind_overlaps=[KindOverlap(first=ChannelKind(a), second=ChannelKind(b), members=Long(n))
                       for a, b, n in table.overlaps(rules.CHANNEL_KINDS, "kinds")],
        spend_base=None if missing_rate else money(total, base),
        multi_kind_spend_base=None if missing_rate else money(multi, base),
        multi_kind_spend_share=None if missing_rate else rules.rate(multi, total),
    )


@strawberry.type
class ReachQuery:
    @strawberry.field(description=(
        "Members active (an identified visit or an order not cancelled) in 1, 2, 3 and 4 "
        "channel kinds, overlaps between channels and kinds, and the share of spend (net of "
        "refunds) from members active in more than one kind. "
        + cost_note("Query.omnichannelReach")
    ))
    async def omnichannel_reach(
        self,
        info: Info,
        since: Annotated[datetime, SINCE],
        until: Annotated[datetime, UNTIL],
    ) -> OmnichannelReach:
        return await omnichannel_reach(info, since, until)
