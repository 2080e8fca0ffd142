"""The one clock: what time it is, and any datetime as UTC.

MongoDB keeps milliseconds, so :func:`now` does too: a time the gateway writes (an order's
``placed_at``, a lease, a key's ``created_at``) reads back equal to the one it holds, and the
live poller's positions compare with what it reads. Every datetime the database hands back
(naive UTC from the embedded store, aware UTC from PyMongo) and every one a client sends
(naive means UTC) goes through :func:`utc`.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, UTC-aware, to the millisecond."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def utc(value: datetime) -> datetime:
    """``value`` as a UTC-aware datetime (a naive one is taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)
