"""saveSegment and deleteSegment."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from gateway import ids
from gateway.clock import optional_utc
from gateway.commerce.idempotency import caller_of
from gateway.commerce.segments import delete_segment, save_segment
from gateway.context import Info
from gateway.database import segment_rules
from gateway.errors import Rejected
from resolvers.channels import ChannelKind
from resolvers.consent import ConsentPurpose
from resolvers.members import MemberTier
from resolvers.mutations.common import IDEMPOTENCY_KEY, KEY, UserError, user_errors
from resolvers.scalars import Long
from resolvers.segments import DAYS, SCORE, Segment, load_segment


@strawberry.input(description="The last `withinDays` days up to the moment of evaluation, or "
                  "`since` and/or `until` (not both forms); nothing: all time.")
class TimeWindowInput:
    within_days: int | None = strawberry.field(default=None, description=f"Days, {DAYS}.")
    since: datetime | None = strawberry.field(default=None, description="At or after.")
    until: datetime | None = strawberry.field(default=None, description="Before.")

    def rule(self) -> segment_rules.Window:
        return segment_rules.Window(self.within_days, optional_utc(self.since),
                                    optional_utc(self.until))


def _window(window: TimeWindowInput | None) -> segment_rules.Window:
    return window.rule() if window is not None else segment_rules.Window()


@strawberry.input(description="Activity in every one of these channel kinds within the window.")
class ActiveInInput:
    kinds: list[ChannelKind] = strawberry.field(description="1 to 4 channel kinds.")
    window: TimeWindowInput | None = strawberry.field(default=None, description="The window.")


@strawberry.input(description="An identified visit at one of these locations within the window.")
class VisitedInput:
    locations: list[strawberry.ID] = strawberry.field(description="1 to 50 loc_ ids.")
    window: TimeWindowInput | None = strawberry.field(default=None, description="The window.")


@strawberry.input(description="A range of base-currency minor units, `[atLeast, below)`.")
class AmountRangeInput:
    at_least: Long | None = strawberry.field(default=None, description="At least (minor units).")
    below: Long | None = strawberry.field(default=None, description="Below (minor units).")


@strawberry.input(description="When the latest activity was; the bounds given all hold.")
class LastActivityInput:
    within_days: int | None = strawberry.field(default=None,
                                               description=f"In the last N days, {DAYS}.")
    not_within_days: int | None = strawberry.field(
        default=None, description=f"Not in the last N days (lapsed), {DAYS}.")
    since: datetime | None = strawberry.field(default=None, description="At or after.")
    before: datetime | None = strawberry.field(default=None, description="Before.")


@strawberry.input(description="An inclusive range of scores.")
class ScoreRangeInput:
    min: int = strawberry.field(default=1, description=f"Lowest score, {SCORE}.")
    max: int = strawberry.field(default=5, description=f"Highest score, {SCORE}.")


@strawberry.input(description="Score ranges on recency, frequency and monetary value (see "
                  "RfmRule for the scores).")
class RfmInput:
    recency: ScoreRangeInput | None = strawberry.field(default=None, description="R range.")
    frequency: ScoreRangeInput | None = strawberry.field(default=None, description="F range.")
    monetary: ScoreRangeInput | None = strawberry.field(default=None, description="M range.")


def _scores(scores: ScoreRangeInput | None) -> segment_rules.Scores | None:
    return None if scores is None else segment_rules.Scores(scores.min, scores.max)


@strawberry.input(description="A segment's rules, every one optional, combined with AND.")
class SegmentDefinitionInput:
    tiers: list[MemberTier] | None = strawberry.field(
        default=None, description="One of these tiers (admin keys only: FORBIDDEN for a "
        "partner key, a tier counts every channel).")
    active_in: ActiveInInput | None = strawberry.field(default=None,
                                                       description="Active in channel kinds.")
    lifetime_value: AmountRangeInput | None = strawberry.field(
        default=None, description="Base-currency total of the member's orders less their "
        "refunds, as Member.lifetimeValue.")
    last_activity: LastActivityInput | None = strawberry.field(default=None,
                                                               description="Latest activity.")
    visited: VisitedInput | None = strawberry.field(default=None,
                                                    description="Visited locations.")
    rfm: RfmInput | None = strawberry.field(default=None, description="RFM score ranges.")

    def rules(self) -> segment_rules.Definition:
        last = self.last_activity
        return segment_rules.Definition(
            tiers=None if self.tiers is None else tuple(t.name for t in self.tiers),
            active_in=None if self.active_in is None else segment_rules.ActiveIn(
                tuple(k.name for k in self.active_in.kinds), _window(self.active_in.window)),
            lifetime_value=None if self.lifetime_value is None else segment_rules.Range(
                self.lifetime_value.at_least, self.lifetime_value.below),
            last_activity=None if last is None else segment_rules.LastActivity(
                last.within_days, last.not_within_days, optional_utc(last.since),
                optional_utc(last.before)),
            visited=None if self.visited is None else segment_rules.Visited(
                tuple(ids.check(loc, "loc_", field=f"definition.visited.locations.{n}")
                      for n, loc in enumerate(self.visited.locations)),
                _window(self.visited.window)),
            rfm=None if self.rfm is None else segment_rules.Rfm(
                _scores(self.rfm.recency), _scores(self.rfm.frequency),
                _scores(self.rfm.monetary)),
        )


@strawberry.input(description="A segment to save under a name.")
class SaveSegmentInput:
    name: str = strawberry.field(description="1 to 100 characters; saving a name again "
                                 "replaces that segment's rules and purpose.")
    purpose: ConsentPurpose = strawberry.field(description="What the segment is for.")
    definition: SegmentDefinitionInput = strawberry.field(description="Its rules.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of saveSegment or deleteSegment.")
class SegmentPayload:
    segment: Segment | None = strawberry.field(
        description="The segment saved (or, for deleteSegment, null); null when refused.")
    deleted_id: strawberry.ID | None = strawberry.field(
        description="The id of the segment deleted (deleteSegment).")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type
class SegmentMutation:
    @strawberry.mutation(description=(
        "Save a segment for the caller: a new one, or new rules and purpose for the caller's "
        "segment of that name (same id). A partner key's segment covers its channels and may "
        "name only its locations. Exactly once per idempotency key."))
    async def save_segment(
        self, info: Info,
        input: Annotated[SaveSegmentInput, strawberry.argument(description="The segment.")],
    ) -> SegmentPayload:
        ctx = info.context
        try:
            once = await save_segment(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings, scope=ctx.scope,
                caller=caller_of(ctx.scope, ctx.principal), name=input.name,
                purpose=input.purpose.name, rules=input.definition.rules(),
                idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return SegmentPayload(segment=None, deleted_id=None, user_errors=user_errors(exc))
        return SegmentPayload(segment=await load_segment(info, once.result_id),
                              deleted_id=None, user_errors=[])

    @strawberry.mutation(description=(
        "Delete a segment the caller owns (an admin key: any). Exactly once per idempotency "
        "key: a replay answers as the first call did."))
    async def delete_segment(
        self, info: Info,
        segment: Annotated[strawberry.ID, strawberry.argument(description="seg_ id.")],
        idempotency_key: KEY,
    ) -> SegmentPayload:
        ctx = info.context
        try:
            once = await delete_segment(
                db=ctx.db, settings=ctx.settings, scope=ctx.scope,
                caller=caller_of(ctx.scope, ctx.principal),
                segment=ids.check(segment, "seg_", field="segment"),
                idempotency_key=idempotency_key)
        except Rejected as exc:
            return SegmentPayload(segment=None, deleted_id=None, user_errors=user_errors(exc))
        return SegmentPayload(segment=None, deleted_id=strawberry.ID(once.result_id),
                              user_errors=[])
