"""``Campaign.results``: what a campaign did, per channel kind, per channel and per local day.

Read through ``loaders.results_by_campaign``: the results of any number of campaigns in one
window are two aggregates (gateway/database/campaign_results.py); the roll-up rules (new and
returning members) are in gateway/analytics.py (``campaign_table``).
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway import analytics as rules
from gateway.context import Info
from resolvers.analytics import window
from resolvers.channels import Channel, ChannelKind, load_channel
from resolvers.scalars import Long, Money, money


@strawberry.type(description="A campaign's figures over some of its orders (those it took "
                 "something off, not cancelled), in the base currency.")
class CampaignFigures:
    orders: Long = strawberry.field(description="Orders.")
    units: Long = strawberry.field(description="Units on those orders (every line).")
    revenue_base: Money = strawberry.field(
        description="Their totals after every discount, less what was refunded of them (at any "
        "time), in the base currency (each order's FX snapshot).")
    discount_base: Money = strawberry.field(
        description="What this campaign took off them, in the base currency.")
    members: Long = strawberry.field(description="Distinct members who placed them.")
    new_members: Long = strawberry.field(
        description="Of those, members whose first order ever (cancelled ones excluded; for a "
        "partner key, in its channels) was one of this campaign's in the window.")
    returning_members: Long = strawberry.field(
        description="Of those, members who had ordered before their first order of the "
        "campaign in the window.")


@strawberry.type(description="A campaign's figures in one channel kind, or on one local day "
                 "of it (a day is the order's date in its own channel's zone).")
class CampaignKindResults(CampaignFigures):
    kind: ChannelKind = strawberry.field(description="The channel kind.")
    date: str | None = strawberry.field(
        description="The local date, YYYY-MM-DD (in byKindAndDay); null in byKind.")


@strawberry.type(description="A campaign's figures in one channel, or on one day of it in the "
                 "channel's zone.")
class CampaignChannelResults(CampaignFigures):
    channel_id: strawberry.Private[str]
    date: str | None = strawberry.field(
        description="The date in the channel's zone, YYYY-MM-DD (in byChannelAndDay); null in "
        "byChannel.")
    time_zone: str = strawberry.field(description="The channel's IANA zone (its days).")
    revenue: Money = strawberry.field(
        description="Order totals less their refunds, in the channel's currency.")
    discount: Money = strawberry.field(
        description="What the campaign took off, in the channel's currency.")

    @strawberry.field(description="The channel.")
    async def channel(self, info: Info) -> Channel | None:
        return await load_channel(info, self.channel_id)


@strawberry.type(description="What a campaign did in a window.")
class CampaignResults(CampaignFigures):
    since: datetime = strawberry.field(description="Start of the window (UTC), inclusive.")
    until: datetime = strawberry.field(description="End of the window (UTC), exclusive.")
    by_kind: list[CampaignKindResults] = strawberry.field(
        description="Per channel kind with orders, in enum order.")
    by_kind_and_day: list[CampaignKindResults] = strawberry.field(
        description="Per channel kind and local day with orders: by kind (enum order), then "
        "oldest day first.")
    by_channel: list[CampaignChannelResults] = strawberry.field(
        description="Per channel with orders, by channel id.")
    by_channel_and_day: list[CampaignChannelResults] = strawberry.field(
        description="Per channel and day (in its zone) with orders: by channel id, then "
        "oldest day first.")


def _figures(tally: rules.CampaignTally, base: str) -> dict[str, object]:
    return {"orders": Long(tally.orders), "units": Long(tally.units),
            "revenue_base": money(tally.revenue_base, base),
            "discount_base": money(tally.discount_base, base),
            "members": Long(len(tally.new) + len(tally.returning)),
            "new_members": Long(len(tally.new)),
            "returning_members": Long(len(tally.returning))}


async def campaign_results(info: Info, campaign_id: str, since: datetime,
                           until: datetime) -> CampaignResults:
    w = window(info, since, until)
    found = await info.context.loaders.results_by_campaign.load((campaign_id, w))
    kind_of = {channel_id: doc["kind"] for channel_id, doc in found.channels.items()}
    table = rules.campaign_table(found.rows, found.first_order, kind_of)
    base = info.context.settings.base_currency
    order = {kind: n for n, kind in enumerate(rules.CHANNEL_KINDS)}

    def kind_row(kind: str, day: str | None, tally: rules.CampaignTally) -> CampaignKindResults:
        return CampaignKindResults(kind=ChannelKind(kind), date=day,
                                   **_figures(tally, base))  # type: ignore[arg-type]

    def channel_row(channel_id: str, day: str | None,
                    tally: rules.CampaignTally) -> CampaignChannelResults:
        channel = found.channels[channel_id]
        currency = channel["currency"]
        return CampaignChannelResults(
            channel_id=channel_id, date=day, time_zone=channel["time_zone"],
            revenue=money(tally.revenue, currency), discount=money(tally.discount, currency),
            **_figures(tally, base))  # type: ignore[arg-type]

    return CampaignResults(
        since=w.since, until=w.until,
        by_kind=[kind_row(kind, None, tally) for kind, tally in
                 sorted(table.by_kind.items(), key=lambda item: order[item[0]])],
        by_kind_and_day=[kind_row(kind, day, tally) for (kind, day), tally in
                         sorted(table.by_kind_day.items(),
                                key=lambda item: (order[item[0][0]], item[0][1]))],
        by_channel=[channel_row(ch, None, tally) for ch, tally in
                    sorted(table.by_channel.items())],
        by_channel_and_day=[channel_row(ch, day, tally) for (ch, day), tally in
                            sorted(table.by_channel_day.items())],
        **_figures(table.total, base))  # type: ignore[arg-type]
