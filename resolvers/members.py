"""Members: one loyalty member, known under an identity in each channel, and their
cross-channel history, per-channel summaries and lifetime value."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from gateway import ids
from gateway.clock import optional_utc, utc
from gateway.context import Info
from gateway.database import members as repo
from gateway.database.query import Doc, Keyset
from gateway.errors import BadUserInput
from gateway.loaders.members import LedgerQuery, cluster_of
from gateway.loaders.timeline import HistoryQuery
from resolvers.activity import (
    COLLECTION_OF,
    Activity,
    ActivityKind,
    activity_filter,
    prime_activities,
)
from resolvers.channels import Channel, channel_of
from resolvers.consent import Consent, consents_of
from resolvers.loyalty import Merge, PointsEntry
from resolvers.node import Node
from resolvers.order_events import OrderEvent
from resolvers.orders import Order
from resolvers.payments import Payment
from resolvers.relations import MaybeAwaitable, peek, prime, relation_field, selected
from resolvers.relay import (
    TOTAL_COUNT,
    AfterArgument,
    BeforeArgument,
    Connection,
    Counter,
    FirstArgument,
    LastArgument,
    connection,
    counted,
    edges_connection,
    list_tag,
    paging,
)
from resolvers.scalars import Long, Money, money
from resolvers.visits import Visit


@strawberry.enum(description="Loyalty tier.")
class MemberTier(Enum):
    BRONZE = strawberry.enum_value("BRONZE", description="Entry tier.")
    SILVER = strawberry.enum_value("SILVER", description="Second tier.")
    GOLD = strawberry.enum_value("GOLD", description="Third tier.")
    PLATINUM = strawberry.enum_value("PLATINUM", description="Top tier.")


@strawberry.federation.type(
    keys=[ids.key_of("Identity")],
    description="The account under which a channel knows a member (one per channel).",
)
class Identity(Node):
    id: strawberry.ID = strawberry.field(
        description="Identity id: idn_<channel id>:<external id>; node(id:) finds it."
    )
    channel_id: strawberry.ID = strawberry.field(description="The channel (ch_ id).")
    external_id: str = strawberry.field(description="The channel's own id for the member.")
    linked_at: datetime = strawberry.field(description="When it was linked to the member.")
    source: str = strawberry.field(description="How it was linked: signup, loyalty-card...")
    member_id: strawberry.Private[str]

    @relation_field(description="The channel.", graphql_type=Channel | None)
    def channel(self, info: Info) -> MaybeAwaitable[Channel | None]:
        return channel_of(info, self.channel_id)

    @strawberry.field(description="The member holding this identity.")
    async def member(self, info: Info) -> Member | None:
        return await load_member(info, self.member_id)

    @classmethod
    def from_doc(cls, doc: Doc) -> Identity:
        return cls(
            id=strawberry.ID(ids.identity_id(doc["channel_id"], doc["external_id"])),
            channel_id=strawberry.ID(doc["channel_id"]),
            external_id=doc["external_id"],
            linked_at=utc(doc["linked_at"]),
            source=doc["source"],
            member_id=doc["member_id"],
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info, channel_id: strawberry.ID, external_id: str
    ) -> Identity | None:
        return await load_identity(info, channel_id, external_id)


@strawberry.type(description="What a member did in one channel.")
class ChannelSummary:
    order_count: Long = strawberry.field(description="Orders placed, cancelled ones excluded.")
    spend: Money = strawberry.field(description="Total of those orders, channel currency.")
    spend_base: Money = strawberry.field(
        description="The same in the base currency, with each order's FX snapshot."
    )
    visit_count: Long = strawberry.field(description="Visits (store visits, sessions, views).")
    first_activity_at: datetime | None = strawberry.field(
        description="First order placed (cancelled ones included) or visit.")
    last_activity_at: datetime | None = strawberry.field(
        description="Last order placed (cancelled ones included) or visit.")
    channel_id: strawberry.Private[str]

    @relation_field(description="The channel.", graphql_type=Channel | None)
    def channel(self, info: Info) -> MaybeAwaitable[Channel | None]:
        return channel_of(info, self.channel_id)


# The GraphQL type of a document of each activity collection.
ACTIVITY_FROM_DOC: dict[str, Callable[[Doc], Activity]] = {
    "orders": Order.from_doc, "payments": Payment.from_doc, "visits": Visit.from_doc,
    "order_events": OrderEvent.from_doc,
}


@strawberry.federation.type(
    keys=[ids.key_of("Member")],
    description="A loyalty member, across all channels.",
)
class Member(Node):
    id: strawberry.ID = strawberry.field(description="Member id, prefix mem_.")
    name: str = strawberry.field(description="Full name (masked for partner callers).")
    phone: str | None = strawberry.field(description="Phone (masked for partner callers).")
    email: str | None = strawberry.field(description="Email (masked for partner callers).")
    tier: MemberTier | None = strawberry.field(
        description="Loyalty tier, from lifetime spend in every channel; null for a partner "
        "key (it counts other channels' orders).")
    points: Long | None = strawberry.field(
        description="Loyalty points balance, earned in every channel; null for a partner key "
        "(pointsLedger lists the points booked in its channels).")
    joined_at: datetime = strawberry.field(description="When the member joined.")
    erased_at: datetime | None = strawberry.field(
        description="When eraseMember removed the member's personal data (name, phone, "
        "e-mail, identities...); null for a member who was not erased.")
    home_channel_id: strawberry.Private[str | None]
    cluster: strawberry.Private[tuple[str, ...]]

    @relation_field(description="The channel where the member joined.",
                      graphql_type=Channel | None)
    def home_channel(self, info: Info) -> MaybeAwaitable[Channel | None]:
        return channel_of(info, self.home_channel_id)

    @strawberry.field(description="The member's identity in each channel, by channel id.")
    async def identities(self, info: Info) -> list[Identity]:
        docs = await info.context.loaders.identities_by_member.load(self.id)
        if "channel" in selected(info):
            await prime((info.context.loaders.channels_by_id, [d["channel_id"] for d in docs]))
        return [Identity.from_doc(d) for d in docs]

    @strawberry.field(
        description="One timeline of the member's orders, payments, visits and order events "
        "(shipped, collected, refunded, returned...) in every channel "
        "the caller may see, newest first (ties by id). Cursors are positions, so they stay "
        "valid as new activity arrives. A page reads at most `first + 1` documents per "
        "collection."
    )
    async def history(
        self,
        info: Info,
        first: FirstArgument = None,
        after: AfterArgument = None,
        channels: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description="Only these channels.")
        ] = None,
        kinds: Annotated[
            list[ActivityKind] | None, strawberry.argument(description="Only these kinds.")
        ] = None,
        since: Annotated[
            datetime | None, strawberry.argument(description="At or after this time.")
        ] = None,
        until: Annotated[datetime | None, strawberry.argument(description="Before.")] = None,
        last: LastArgument = None,
        before: BeforeArgument = None,
    ) -> Connection[Activity]:
        wanted = kinds or list(ActivityKind)
        where = activity_filter(channels=channels, since=since, until=until)
        collections = tuple(COLLECTION_OF[k] for k in ActivityKind if k in wanted)
        tag = list_tag("history", self.id, where, collections)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=True)
        query = HistoryQuery(paging=page, where=where, collections=collections)
        moments = await info.context.loaders.history_by_member.load((self.cluster, query))
        await prime_activities(info, [(m.collection, m.doc) for m in moments], "edges", "node")
        return edges_connection(
            [(m.key, ACTIVITY_FROM_DOC[m.collection](m.doc)) for m in moments], page, tag)

    @strawberry.field(description="For each channel the member used (that the caller may see): "
                      "orders, spend and visits.")
    async def channel_summaries(self, info: Info) -> list[ChannelSummary]:
        rows = await info.context.loaders.summaries_by_member.load(self.cluster)
        return await _summaries(info, rows)

    @strawberry.field(
        description="Total spend of non-cancelled orders less their refunds (returns "
        "included), converted with each order's FX snapshot to the base currency (half-even "
        "rounding to the minor unit); in another "
        "currency, converted from the base at today's rate. For a partner key, the spend in "
        "its channels."
    )
    async def lifetime_value(
        self,
        info: Info,
        currency: Annotated[
            str | None, strawberry.argument(description="ISO 4217 code; default: base.")
        ] = None,
    ) -> Money:
        base = info.context.settings.base_currency
        rows = await info.context.loaders.summaries_by_member.load(self.cluster)
        total = sum(r["spend_base"] for r in rows if "spend_base" in r)
        if currency is None or currency == base:
            return money(total, base)
        rates = await info.context.loaders.fx_rates.load(base)
        amount = rates.from_base(total, currency)
        if amount is None:
            raise BadUserInput(f"Unknown currency {currency[:8]!r}.", field="currency")
        return money(amount, currency)

    @strawberry.field(
        description="Every change of the points balance, newest first, including those of "
        "members merged into this one. See PointsReason for the earning rule per channel. A "
        "partner key sees the entries booked in its channels (its orders' points, and the "
        "signup bonus when the member joined in one of them), without the balance."
    )
    async def points_ledger(
        self,
        info: Info,
        first: FirstArgument = None,
        after: AfterArgument = None,
        last: LastArgument = None,
        before: BeforeArgument = None,
    ) -> Connection[PointsEntry]:
        tag = list_tag("pointsLedger", self.id)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=True)
        docs = await info.context.loaders.ledger_by_member.load((self.cluster, LedgerQuery(page)))
        return connection(docs, page, PointsEntry.from_doc,
                          lambda d: Keyset(id=d["_id"], at=utc(d["at"])), tag)

    @strawberry.field(description="The consent in force for each channel and purpose the "
                      "member ever answered (the latest record of each), in the channels the "
                      "caller may see, by channel then purpose. No record: no consent.")
    async def consents(self, info: Info) -> list[Consent]:
        return await consents_of(info, self.cluster, history=False)

    @strawberry.field(description="Every consent record of the member (and of members merged "
                      "into it), newest first, in the channels the caller may see. A record "
                      "is a person's own act, so the list stays short.")
    async def consent_history(self, info: Info) -> list[Consent]:
        return await consents_of(info, self.cluster, history=True)

    @strawberry.field(description="Merges this member took part in (as survivor or merged), "
                      "oldest first, including undone ones. A partner key sees the merges in "
                      "effect that moved an identity of its channels.")
    async def merges(self, info: Info) -> list[Merge]:
        docs = await info.context.loaders.merges_by_member.load(self.id)
        return [Merge.from_doc(d) for d in docs]

    @classmethod
    def from_doc(cls, doc: Doc) -> Member:
        return cls(
            id=strawberry.ID(doc["_id"]),
            name=doc["name"],
            phone=doc.get("phone"),
            email=doc.get("email"),
            tier=MemberTier(doc["tier"]) if doc.get("tier") is not None else None,
            points=doc.get("points"),
            joined_at=utc(doc["joined_at"]),
            erased_at=optional_utc(doc.get("erased_at")),
            home_channel_id=doc.get("home_channel_id"),
            cluster=tuple(cluster_of(doc)),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Member | None:
        return await load_member(info, ids.check(id, "mem_"))


@strawberry.type(description="A page of members (Relay connection), and how many there are.")
class MemberConnection(Connection[Member]):
    counter: strawberry.Private[Counter]

    @strawberry.field(description=TOTAL_COUNT)
    async def total_count(self) -> Long:
        return Long(await self.counter())


def member_connection(docs: list[Doc], page: Any, tag: str, counter: Counter) -> MemberConnection:
    """A page of member documents (in reading order) as a ``MemberConnection``."""
    return counted(MemberConnection,
                   connection(docs, page, Member.from_doc, lambda d: Keyset(id=d["_id"]), tag),
                   counter)


async def _summaries(info: Info, rows: list[Doc]) -> list[ChannelSummary]:
    base = info.context.settings.base_currency
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = merged.setdefault(row["channel_id"], {"orders": 0, "spend": 0,
                                  "spend_base": 0, "visits": 0, "times": []})
        for field in ("orders", "spend", "spend_base", "visits"):
            entry[field] += row.get(field, 0)
        entry["times"] += [row.get("first_at"), row.get("last_at")]
    channels = info.context.loaders.channels_by_id
    await prime((channels, merged))
    summaries = []
    for channel_id in sorted(merged):
        entry = merged[channel_id]
        if not entry["orders"] and not entry["visits"]:
            continue  # only cancelled orders there
        channel = peek(channels, channel_id)
        currency = channel["currency"] if channel else base
        times = [utc(t) for t in entry["times"] if t is not None]
        summaries.append(ChannelSummary(
            channel_id=channel_id,
            order_count=entry["orders"],
            spend=money(entry["spend"], currency),
            spend_base=money(entry["spend_base"], base),
            visit_count=entry["visits"],
            first_activity_at=optional_utc(min(times) if times else None),
            last_activity_at=optional_utc(max(times) if times else None),
        ))
    return summaries


async def load_member(info: Info, member_id: str | None) -> Member | None:
    if member_id is None:
        return None
    doc = await info.context.loaders.members_by_id.load(member_id)
    if doc is not None and doc.get("merged_into"):  # a merged member stands for its survivor
        doc = await info.context.loaders.members_by_id.load(doc["merged_into"])
    return None if doc is None else Member.from_doc(doc)


async def load_identity(info: Info, channel_id: str, external_id: str) -> Identity | None:
    key = ids.identity_key(ids.check(channel_id, "ch_", field="channel"),
                           ids.check_external_id(external_id))
    doc = await info.context.loaders.identities_by_id.load(key)
    return None if doc is None else Identity.from_doc(doc)


@strawberry.input(description="Narrows a member list; all fields optional, combined with AND.")
class MemberFilter:
    tier: MemberTier | None = strawberry.field(
        default=None, description="Loyalty tier (admin keys only: FORBIDDEN for a partner key, "
        "a tier counts every channel).")
    home_channel: strawberry.ID | None = strawberry.field(
        default=None, description="Joined in this channel (ch_ id)."
    )
    channel: strawberry.ID | None = strawberry.field(
        default=None, description="Holds an identity in this channel (ch_ id)."
    )


@strawberry.type
class MemberQuery:
    @strawberry.field(description="One member by id; null when unknown.")
    async def member(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="mem_ id.")]
    ) -> Member | None:
        return await load_member(info, ids.check(id, "mem_"))

    @strawberry.field(description="The member a channel knows under `externalId`; null if none.")
    async def member_by_identity(
        self,
        info: Info,
        channel: Annotated[strawberry.ID, strawberry.argument(description="ch_ id.")],
        external_id: Annotated[str, strawberry.argument(description="The channel's own id.")],
    ) -> Member | None:
        identity = await load_identity(info, channel, external_id)
        return None if identity is None else await load_member(info, identity.member_id)

    @strawberry.field(description="Members in id order, a page at a time.")
    async def members(
        self,
        info: Info,
        filter: Annotated[MemberFilter | None, strawberry.argument(description="Filter.")] = None,
        first: FirstArgument = None,
        after: AfterArgument = None,
        last: LastArgument = None,
        before: BeforeArgument = None,
    ) -> MemberConnection:
        f = filter or MemberFilter()
        tier = f.tier.name if f.tier else None
        home_channel_id = (ids.check(f.home_channel, "ch_", field="homeChannel")
                           if f.home_channel else None)
        channel_id = ids.check(f.channel, "ch_", field="channel") if f.channel else None
        tag = list_tag("members", tier, home_channel_id, channel_id)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=False)
        db, scope = info.context.db, info.context.scope
        query = await repo.members_query(db, scope=scope, tier=tier,
                                         home_channel_id=home_channel_id, channel_id=channel_id)
        docs = await repo.list_members(db, query, scope=scope, paging=page)
        return member_connection(docs, page, tag, lambda: repo.count_members(db, query))
