"""Segments: saved, named rules over members, evaluated in the database (see
gateway/database/segment_rules.py for what each rule means)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from gateway import ids
from gateway.admission.cost import cost_note
from gateway.clock import now, optional_utc, utc
from gateway.context import Info
from gateway.database import segment_rules
from gateway.database import segments as repo
from gateway.database.query import Doc, Keyset
from gateway.database.segment_query import Question, Spec
from gateway.money import exponent
from resolvers.channels import ChannelKind, Location, load_location
from resolvers.consent import ConsentPurpose
from resolvers.members import Member, MemberConnection, MemberTier, member_connection
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
    list_tag,
    paging,
)
from resolvers.scalars import Long, Money, money

DAYS = f"1 to {segment_rules.MAX_DAYS}"
SCORE = "1 to 5"


@strawberry.type(description="A time window: the last `withinDays` days up to the moment of "
                 "evaluation, or `since` and/or `until`; all null: all time.")
class TimeWindow:
    within_days: int | None = strawberry.field(description=f"Days, {DAYS}.")
    since: datetime | None = strawberry.field(description="At or after (UTC).")
    until: datetime | None = strawberry.field(description="Before (UTC).")

    @classmethod
    def of(cls, window: segment_rules.Window) -> TimeWindow:
        return cls(within_days=window.within_days, since=optional_utc(window.since),
                   until=optional_utc(window.until))


@strawberry.type(description="Activity (a non-cancelled order or an identified visit) in "
                 "every one of these channel kinds within the window.")
class ActiveInRule:
    kinds: list[ChannelKind] = strawberry.field(description="Every one of these kinds.")
    window: TimeWindow = strawberry.field(description="The window.")


@strawberry.type(description="An identified visit at one of these locations within the window.")
class VisitedRule:
    location_ids: strawberry.Private[tuple[str, ...]]
    window: TimeWindow = strawberry.field(description="The window.")

    @strawberry.field(description="The locations (those the caller may see).")
    async def locations(self, info: Info) -> list[Location]:
        found = [await load_location(info, i) for i in self.location_ids]
        return [place for place in found if place is not None]


@strawberry.type(description="A range of base-currency amounts, `[atLeast, below)`.")
class AmountRange:
    at_least: Money | None = strawberry.field(description="At least this much.")
    below: Money | None = strawberry.field(description="Less than this.")


@strawberry.type(description="When the member's latest activity was (all given bounds hold).")
class LastActivityRule:
    within_days: int | None = strawberry.field(description=f"In the last N days, {DAYS}.")
    not_within_days: int | None = strawberry.field(
        description=f"Not in the last N days (lapsed), {DAYS}.")
    since: datetime | None = strawberry.field(description="At or after (UTC).")
    before: datetime | None = strawberry.field(description="Before (UTC).")


@strawberry.type(description="An inclusive range of scores.")
class ScoreRange:
    min: int = strawberry.field(description=f"Lowest score, {SCORE}.")
    max: int = strawberry.field(description=f"Highest score, {SCORE}.")


@strawberry.type(description="Recency, frequency and monetary scores, 1 (low) to 5 (high), over "
                 "the member's non-cancelled orders: R from days since the latest order (<=30: "
                 "5, <=90: 4, <=180: 3, <=365: 2, else 1), F from the number of orders (>=20: "
                 "5, >=10: 4, >=5: 3, >=2: 2, else 1), M from their base-currency total less "
                 "refunds, as Member.lifetimeValue (>=10,000: 5, >=5,000: 4, >=2,000: 3, "
                 ">=500: 2, else 1, in major units). A member without an order has no scores "
                 "and matches no RFM rule.")
class RfmRule:
    recency: ScoreRange | None = strawberry.field(description="R score range.")
    frequency: ScoreRange | None = strawberry.field(description="F score range.")
    monetary: ScoreRange | None = strawberry.field(description="M score range.")


def _scores(scores: segment_rules.Scores | None) -> ScoreRange | None:
    return None if scores is None else ScoreRange(min=scores.min, max=scores.max)


@strawberry.type(description="A segment's rules; those given all hold (AND). Activity counts "
                 "in the segment's channels only, before the moment of evaluation.")
class SegmentDefinition:
    tiers: list[MemberTier] | None = strawberry.field(description="One of these tiers.")
    active_in: ActiveInRule | None = strawberry.field(description="Active in channel kinds.")
    lifetime_value: AmountRange | None = strawberry.field(
        description="Base-currency total of the member's orders less their refunds (FX "
        "snapshots), as Member.lifetimeValue.")
    last_activity: LastActivityRule | None = strawberry.field(description="Latest activity.")
    visited: VisitedRule | None = strawberry.field(description="Visited locations.")
    rfm: RfmRule | None = strawberry.field(description="RFM scores.")

    @classmethod
    def of(cls, definition: segment_rules.Definition, base: str) -> SegmentDefinition:
        d = definition
        ltv = d.lifetime_value
        last = d.last_activity
        return cls(
            tiers=None if d.tiers is None else [MemberTier(t) for t in d.tiers],
            active_in=None if d.active_in is None else ActiveInRule(
                kinds=[ChannelKind(k) for k in d.active_in.kinds],
                window=TimeWindow.of(d.active_in.window)),
            lifetime_value=None if ltv is None else AmountRange(
                at_least=None if ltv.at_least is None else money(ltv.at_least, base),
                below=None if ltv.below is None else money(ltv.below, base)),
            last_activity=None if last is None else LastActivityRule(
                within_days=last.within_days, not_within_days=last.not_within_days,
                since=optional_utc(last.since), before=optional_utc(last.before)),
            visited=None if d.visited is None else VisitedRule(
                location_ids=d.visited.locations, window=TimeWindow.of(d.visited.window)),
            rfm=None if d.rfm is None else RfmRule(
                recency=_scores(d.rfm.recency), frequency=_scores(d.rfm.frequency),
                monetary=_scores(d.rfm.monetary)),
        )


AsOfArgument = Annotated[datetime | None, strawberry.argument(
    description="Evaluate as of this moment: only activity before it counts, and `withinDays` "
    "windows end at it. Default: now. Consent is the consent in force now.")]


@strawberry.type(description="A saved segment: named rules over members, evaluated in the "
                 "database whenever it is read. An admin key's segments cover every channel; a "
                 "partner key's cover its channels, hold only members it may see and are seen "
                 "by admin keys and by that partner's keys only. Merged members count through "
                 "their survivor; erased members are in no segment.")
class Segment:
    id: strawberry.ID = strawberry.field(description="Segment id, prefix seg_.")
    name: str = strawberry.field(description="Its name, unique per owner.")
    purpose: ConsentPurpose = strawberry.field(
        description="What it is for: it holds only members whose consent to this purpose is "
        "in force in at least one of its channels.")
    created_at: datetime = strawberry.field(description="When it was first saved.")
    updated_at: datetime = strawberry.field(description="When its rules were last saved.")
    ruleset: strawberry.Private[segment_rules.Definition]
    channels: strawberry.Private[tuple[str, ...] | None]

    @strawberry.field(description="Its rules.")
    def definition(self, info: Info) -> SegmentDefinition:
        return SegmentDefinition.of(self.ruleset, info.context.settings.base_currency)

    def _question(self, info: Info, as_of: datetime | None, page: object = None) -> Question:
        scope = info.context.scope
        channels = self.channels if scope.channels is None else tuple(
            sorted(scope.channels if self.channels is None
                   else set(self.channels) & scope.channels))
        base = info.context.settings.base_currency
        spec = Spec(definition=self.ruleset, purpose=self.purpose.name, channels=channels,
                    minor_per_major=10 ** exponent(base))
        return Question(spec=spec, as_of=now() if as_of is None else utc(as_of),
                        paging=page)  # type: ignore[arg-type]

    @strawberry.field(description="How many members it holds. " + cost_note("Segment.count"))
    async def count(self, info: Info, as_of: AsOfArgument = None) -> Long:
        return Long(await info.context.loaders.segment_answers.load(
            self._question(info, as_of)))

    @strawberry.field(description="Its members, in id order, as the caller may see them "
                      "(masked for a partner key). " + cost_note("Segment.members"))
    async def members(
        self, info: Info, as_of: AsOfArgument = None, first: FirstArgument = None,
        after: AfterArgument = None, last: LastArgument = None, before: BeforeArgument = None,
    ) -> MemberConnection:
        tag = list_tag("segmentMembers", self.id, as_of)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=False)
        loaders = info.context.loaders
        asked = loaders.segment_answers.load(self._question(info, as_of, page))
        # a totalCount asked with the page is answered by the page's aggregate
        size = (loaders.segment_answers.load(self._question(info, as_of))
                if _selects(info.selected_fields, "totalCount") else None)
        found = await loaders.members_by_id.load_many(await asked)
        docs = [doc for doc in found if doc is not None]

        async def total() -> int:
            counted_: int = await (size if size is not None else loaders.segment_answers.load(
                self._question(info, as_of)))
            return counted_

        return member_connection(docs, page, tag, total)

    @classmethod
    def from_doc(cls, doc: Doc) -> Segment:
        return cls(id=strawberry.ID(doc["_id"]), name=doc["name"],
                   purpose=ConsentPurpose(doc["purpose"]), created_at=utc(doc["created_at"]),
                   updated_at=utc(doc["updated_at"]),
                   ruleset=segment_rules.Definition.from_doc(doc["definition"]),
                   channels=None if doc.get("channels") is None else tuple(doc["channels"]))


def _selects(selections: Any, name: str) -> bool:
    """Whether a selection (through its fragments) asks for the field ``name``."""
    return any(getattr(s, "name", None) == name or _selects(getattr(s, "selections", []), name)
               for s in selections)


@strawberry.type(description="A page of segments (Relay connection), and how many there are.")
class SegmentConnection(Connection[Segment]):
    counter: strawberry.Private[Counter]

    @strawberry.field(description=TOTAL_COUNT)
    async def total_count(self) -> Long:
        return Long(await self.counter())


async def load_segment(info: Info, segment_id: str) -> Segment | None:
    doc = await info.context.loaders.segments_by_id.load(segment_id)
    return None if doc is None else Segment.from_doc(doc)


@strawberry.type
class SegmentQuery:
    @strawberry.field(description="One saved segment by id; null when unknown or another "
                      "owner's (a partner key sees its own segments only).")
    async def segment(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(
            description="seg_ id.")],
    ) -> Segment | None:
        return await load_segment(info, ids.check(id, "seg_"))

    @strawberry.field(description="The saved segments the caller sees, in id order.")
    async def segments(
        self, info: Info, first: FirstArgument = None, after: AfterArgument = None,
        last: LastArgument = None, before: BeforeArgument = None,
    ) -> SegmentConnection:
        db, scope = info.context.db, info.context.scope
        tag = list_tag("segments")
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=False)
        docs = await repo.list_segments(db, scope=scope, paging=page)
        return counted(SegmentConnection,
                       connection(docs, page, Segment.from_doc, lambda d: Keyset(id=d["_id"]),
                                  tag),
                       lambda: repo.count_segments(db, scope=scope))


__all__ = ["Member", "Segment", "SegmentConnection", "SegmentQuery", "load_segment"]
