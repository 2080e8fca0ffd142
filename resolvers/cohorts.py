"""repeatPurchaseCohorts: who bought again, when and through which kinds, by first order."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from itertools import groupby
from typing import Annotated

import strawberry

from gateway.admission.cost import cost_note
from gateway.context import Info
from gateway.database import cohorts as repo
from resolvers.analytics import SINCE, UNTIL, window
from resolvers.channels import ChannelKind
from resolvers.scalars import Long

MAX_OFFSET = 60  # periods in a window of at most 400 days (weeks); months: 14


@strawberry.enum(description="The length of a cohort period.")
class CohortPeriod(Enum):
    MONTH = strawberry.enum_value("MONTH", description="A calendar month, labelled 2026-03.")
    WEEK = strawberry.enum_value(
        "WEEK", description="An ISO week, Monday to Sunday, labelled by its Monday (2026-03-02).")


@strawberry.enum(description="Which clock periods are read in.")
class CohortTimeZone(Enum):
    BRAND = strawberry.enum_value(
        "BRAND", description="The brand's time zone for every order (OMNIGW_BRAND_TIME_ZONE).")
    CHANNEL = strawberry.enum_value(
        "CHANNEL", description="Each order in the time zone of its channel.")


@strawberry.type(description="Members of one kind counted in a period.")
class CohortKindCount:
    kind: ChannelKind = strawberry.field(description="The channel kind.")
    members: Long = strawberry.field(description="Members who ordered through it.")


@strawberry.type(description="A cohort's members who ordered in one period.")
class CohortPeriodActivity:
    offset: int = strawberry.field(
        description=f"Periods after the cohort's own (0 to {MAX_OFFSET}): 0 is the period "
        "of the first order, 1 the next...")
    label: str = strawberry.field(description="The period (2026-03, or a week's Monday).")
    members: Long = strawberry.field(
        description="Members of the cohort who ordered in this period (at offset 0, all).")
    by_kind: list[CohortKindCount] = strawberry.field(
        description="Of those, how many ordered through each channel kind (a member may "
        "count in several), kinds without any left out.")


@strawberry.type(description="Members whose first order fell in one period, through one kind.")
class Cohort:
    label: str = strawberry.field(description="The period of the first order.")
    first_kind: ChannelKind = strawberry.field(description="The kind of the first order.")
    members: Long = strawberry.field(description="How many members.")
    returned: Long = strawberry.field(
        description="How many of them ordered again in a later period (before `until`).")
    periods: list[CohortPeriodActivity] = strawberry.field(
        description="Offset 0, then each later period in which some of them ordered, oldest "
        "first.")


@strawberry.type(description="Repeat-purchase cohorts of a window.")
class RepeatPurchaseCohorts:
    period: CohortPeriod = strawberry.field(description="The period length.")
    time_zone: str = strawberry.field(
        description="The IANA zone periods are read in, or CHANNEL (each channel's).")
    cohorts: list[Cohort] = strawberry.field(
        description="By first period, then by first kind (ONLINE_SHOP, SUPERMARKET, "
        "RURAL_OUTLET, OVERSEAS).")


def _period(period: CohortPeriod) -> repo.Period:
    return "WEEK" if period is CohortPeriod.WEEK else "MONTH"


def _cohorts(rows: list[repo.CohortRow], period: repo.Period) -> list[Cohort]:
    order = {kind.name: n for n, kind in enumerate(ChannelKind)}
    cohorts = []
    keyed = sorted(rows, key=lambda r: (r.cohort, order[r.first_kind], r.period))
    for (cohort, kind), group in groupby(keyed, key=lambda r: (r.cohort, r.first_kind)):
        found = list(group)
        own = next(r for r in found if r.period == cohort)
        cohorts.append(Cohort(
            label=repo.label(cohort, period), first_kind=ChannelKind(kind),
            members=Long(own.members), returned=Long(own.returned),
            periods=[CohortPeriodActivity(
                offset=repo.offset(cohort, r.period, period), label=repo.label(r.period, period),
                members=Long(r.members),
                by_kind=[CohortKindCount(kind=k, members=Long(r.by_kind[k.name]))
                         for k in ChannelKind if r.by_kind.get(k.name)])
                for r in found]))
    return cohorts


@strawberry.type
class CohortQuery:
    @strawberry.field(description=(
        "Members grouped by the period of their first order (a non-cancelled order in the "
        "caller's channels; a merged member's orders count for its survivor) and by that "
        "order's channel kind, for first orders in [since, until); for each later period up "
        "to `until`, how many of them ordered again and through which kinds. "
        + cost_note("Query.repeatPurchaseCohorts")))
    async def repeat_purchase_cohorts(
        self,
        info: Info,
        since: Annotated[datetime, SINCE],
        until: Annotated[datetime, UNTIL],
        period: Annotated[CohortPeriod, strawberry.argument(
            description="Month or ISO week.")] = CohortPeriod.MONTH,
        time_zone: Annotated[CohortTimeZone, strawberry.argument(
            description="The brand's zone, or each channel's.")] = CohortTimeZone.BRAND,
    ) -> RepeatPurchaseCohorts:
        checked = window(info, since, until)
        context = info.context
        listed = await context.loaders.channel_list()
        brand = context.settings.brand_time_zone
        zones: dict[str, str] | str = brand if time_zone is CohortTimeZone.BRAND else {
            c["_id"]: c["time_zone"] for c in listed}
        rows = await repo.cohort_rows(
            context.db, checked, period=_period(period), zones=zones,
            kinds={c["_id"]: c["kind"] for c in listed}, scope=context.scope)
        return RepeatPurchaseCohorts(
            period=period, time_zone=brand if isinstance(zones, str) else "CHANNEL",
            cohorts=_cohorts(rows, _period(period)))
