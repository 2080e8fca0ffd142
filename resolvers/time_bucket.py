"""The ``TimeBucket`` enum of the analytics series (its own module: channels.py needs it)."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="How an analytics series slices time, in the parent's time zone.")
class TimeBucket(Enum):
    HOUR = strawberry.enum_value(
        "HOUR",
        description="A local clock hour, labelled with its UTC offset: 2026-03-29T03:00+02:00.",
    )
    DAY = strawberry.enum_value("DAY", description="A local calendar day: 2026-03-29.")
    WEEK = strawberry.enum_value(
        "WEEK", description="An ISO week, Monday to Sunday, labelled by its Monday: 2026-03-23."
    )
