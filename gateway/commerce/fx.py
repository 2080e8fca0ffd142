"""``setFxRate``: a new exchange-rate snapshot, today's rate from now on.

A rate is the number of base-currency units one unit of the currency is worth (``7.1240``
CNY per USD), a positive decimal of at most 12 significant digits and 8 places, below
1,000,000. The base currency itself is always 1 and cannot be set. Each call inserts a
snapshot (``fx_...``) in ``fx_history`` and makes it today's rate; orders and payments keep
the rate and snapshot id they were written with (``fx_rate``, ``fx_snapshot_id``,
``total_base`` / ``amount_base``), so a new rate changes only what is written after it and
what is converted at today's rate (``lifetimeValue(currency:)``, base amounts of orders that
have no snapshot). Of two concurrent calls for one currency, the later ``as_of`` stays
today's rate; both stay in the history.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pymongo.errors import DuplicateKeyError

from gateway.clock import now
from gateway.commerce import validation
from gateway.commerce.common import new_id
from gateway.commerce.idempotency import Once, run_once
from gateway.database import Database
from gateway.database import fx as repo
from gateway.database.writes import fx as writes
from gateway.errors import AlreadyDone, reject
from gateway.settings import Settings

MAX_RATE = Decimal(1_000_000)
MAX_DIGITS = 12
MAX_PLACES = 8
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def check_rate(currency: str, rate: Decimal, *, base_currency: str) -> tuple[str, Decimal]:
    """The currency and rate, checked (INVALID otherwise)."""
    if not _CURRENCY.match(currency):
        raise reject("INVALID", "currency must be an ISO 4217 code (three capital letters).",
                     field="currency")
    if currency == base_currency:
        raise reject("INVALID", f"{base_currency} is the base currency: its rate is always 1.",
                     field="currency")
    try:
        exponent = rate.as_tuple().exponent
        digits = len(rate.normalize().as_tuple().digits)
    except (InvalidOperation, AttributeError):
        raise reject("INVALID", "rate must be a decimal number.", field="rate") from None
    if not isinstance(exponent, int) or not Decimal(0) < rate < MAX_RATE:
        raise reject("INVALID", f"rate must be above 0 and below {MAX_RATE}.", field="rate")
    if -exponent > MAX_PLACES or digits > MAX_DIGITS:
        raise reject("INVALID", f"rate has at most {MAX_DIGITS} significant digits and "
                     f"{MAX_PLACES} decimal places.", field="rate")
    return currency, rate


async def set_fx_rate(
    *, db: Database, settings: Settings, caller: str, currency: str, rate: Decimal,
    idempotency_key: str,
) -> Once:
    """Start a new snapshot of ``currency`` exactly once per key; its id (``fx_...``)."""
    validation.idempotency_key(idempotency_key)
    currency, rate = check_rate(currency, rate, base_currency=settings.base_currency)

    async def work(snapshot_id: str, resumed: bool) -> None:
        written = await repo.snapshot(db, snapshot_id) if resumed else None
        if written is not None:  # the attempt taken over wrote it: finish its second step
            await writes.make_current(db, snapshot=written)
            raise AlreadyDone(snapshot_id)
        snapshot = {"_id": snapshot_id, "currency": currency, "rate": format(rate, "f"),
                    "base_currency": settings.base_currency, "as_of": now(), "set_by": caller}
        try:
            await writes.insert_snapshot(db, snapshot)
        except DuplicateKeyError:  # the attempt taken over wrote it meanwhile
            raise AlreadyDone(snapshot_id) from None
        await writes.make_current(db, snapshot=snapshot)

    return await run_once(db, caller=caller, mutation="setFxRate", key=idempotency_key,
                          request=[currency, format(rate, "f")], new_id=new_id("fx_"), work=work,
                          lease_seconds=settings.idempotency_lease_seconds)
