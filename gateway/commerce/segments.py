"""Saving and deleting segments (the rules are in :mod:`gateway.database.segment_rules`).

``saveSegment`` creates the caller's segment of that name, or replaces its rules and purpose
(its id, made of owner and name, stays). A partner's segment covers its channels only; it may
not use ``tiers`` (a tier counts every channel: FORBIDDEN) and names only its own locations.
Both writes are exactly once per idempotency key.
"""

from __future__ import annotations

from datetime import datetime

from gateway.clock import now
from gateway.commerce import validation
from gateway.commerce.idempotency import Once, run_once
from gateway.database import Database
from gateway.database.consents import PURPOSES
from gateway.database.scope import Scope
from gateway.database.segment_rules import (
    KINDS,
    MAX_DAYS,
    MAX_LOCATIONS,
    Definition,
    Scores,
    Window,
)
from gateway.database.segments import owner_of, segment_id
from gateway.database.writes import segments as writes
from gateway.errors import Forbidden, Rejected, UserError, reject
from gateway.loaders import Loaders
from gateway.settings import Settings

MAX_NAME = 100


def _days(value: int | None, field: str, errors: list[UserError]) -> None:
    if value is not None and not 1 <= value <= MAX_DAYS:
        errors.append(UserError(field, "INVALID", f"{field} must be 1 to {MAX_DAYS} days."))


def _window(window: Window, field: str, errors: list[UserError]) -> None:
    _days(window.within_days, f"{field}.withinDays", errors)
    if window.within_days is not None and (window.since or window.until):
        errors.append(UserError(f"{field}.withinDays", "INVALID",
                                "Give withinDays, or since and until, not both."))
    if window.since and window.until and window.since >= window.until:
        errors.append(UserError(f"{field}.until", "INVALID", "until must be after since."))


def _scores(scores: Scores | None, field: str, errors: list[UserError]) -> None:
    if scores is not None and not 1 <= scores.min <= scores.max <= 5:
        errors.append(UserError(field, "INVALID",
                                "A score range needs 1 <= min <= max <= 5."))


def check_definition(rules: Definition, *, scope: Scope) -> None:
    """Shape checks of a segment's rules: Rejected (INVALID) naming every fault."""
    if rules.tiers is not None and not scope.unrestricted:
        raise Forbidden("A segment on tiers needs an admin key (a tier counts every channel).",
                        field="definition.tiers")
    errors: list[UserError] = []
    if rules.active_in is not None:
        if not rules.active_in.kinds or not set(rules.active_in.kinds) <= set(KINDS):
            errors.append(UserError("definition.activeIn.kinds", "INVALID",
                                    "Name 1 to 4 channel kinds."))
        _window(rules.active_in.window, "definition.activeIn", errors)
    if rules.visited is not None:
        if not 1 <= len(rules.visited.locations) <= MAX_LOCATIONS:
            errors.append(UserError("definition.visited.locations", "INVALID",
                                    f"Name 1 to {MAX_LOCATIONS} locations."))
        _window(rules.visited.window, "definition.visited", errors)
    if rules.lifetime_value is not None:
        low, high = rules.lifetime_value.at_least, rules.lifetime_value.below
        if (low is not None and low < 0) or (high is not None and high < 0) or (
                low is not None and high is not None and low >= high):
            errors.append(UserError("definition.lifetimeValue", "INVALID",
                                    "Amounts are 0 or more, and atLeast below `below`."))
    if rules.last_activity is not None:
        last = rules.last_activity
        _days(last.within_days, "definition.lastActivity.withinDays", errors)
        _days(last.not_within_days, "definition.lastActivity.notWithinDays", errors)
    if rules.rfm is not None:
        for name in ("recency", "frequency", "monetary"):
            _scores(getattr(rules.rfm, name), f"definition.rfm.{name}", errors)
    if errors:
        raise Rejected(*errors)


async def save_segment(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    name: str, purpose: str, rules: Definition, idempotency_key: str,
) -> Once:
    """Create or replace the caller's segment called ``name``; its id is the result."""
    validation.idempotency_key(idempotency_key)
    validation.text(name, field="name", max_length=MAX_NAME)
    if purpose not in PURPOSES:
        raise reject("INVALID", f"purpose must be one of {', '.join(PURPOSES)}.",
                     field="purpose")
    check_definition(rules, scope=scope)
    owner = owner_of(scope)
    saved_id = segment_id(owner, name)

    async def work(result_id: str, resumed: bool) -> None:
        if rules.visited is not None:
            places = await loaders.locations_by_id.load_many(list(rules.visited.locations))
            for n, (location_id, place) in enumerate(
                    zip(rules.visited.locations, places, strict=True)):
                if place is None:
                    raise reject("NOT_FOUND", f"Unknown location {location_id}.",
                                 field=f"definition.visited.locations.{n}")
        at: datetime = now()
        await writes.save(db, segment_id=result_id, fields={
            "name": name, "purpose": purpose, "definition": rules.doc(), "updated_at": at,
            "saved_by": caller}, created={
            "owner": owner, "channels": None if scope.channels is None
            else sorted(scope.channels), "created_at": at})

    return await run_once(
        db, caller=caller, mutation="saveSegment", key=idempotency_key,
        request=[name, purpose, repr(rules)], new_id=saved_id, work=work,
        lease_seconds=settings.idempotency_lease_seconds)


async def delete_segment(
    *, db: Database, settings: Settings, scope: Scope, caller: str, segment: str,
    idempotency_key: str,
) -> Once:
    """Delete a segment the caller owns (an admin: any); its id is the result."""
    validation.idempotency_key(idempotency_key)
    owner = None if scope.unrestricted else owner_of(scope)

    async def work(result_id: str, resumed: bool) -> None:
        removed = await writes.delete(db, segment_id=result_id, owner=owner)
        if removed is None and not resumed:
            raise reject("NOT_FOUND", f"Unknown segment {result_id}.", field="segment")

    return await run_once(
        db, caller=caller, mutation="deleteSegment", key=idempotency_key, request=[segment],
        new_id=segment, work=work, lease_seconds=settings.idempotency_lease_seconds)
