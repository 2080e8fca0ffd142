"""Payments and visits: the other two activity records a channel writes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from gateway.clock import now
from gateway.commerce import rollups, validation
from gateway.commerce.common import channel_doc, fx_snapshot, location_problem, member_id_of, new_id
from gateway.commerce.idempotency import Attempt, Once, check_not_done, run_fenced, run_once
from gateway.commerce.operations import order_of
from gateway.commerce.paid import order_paid, undo_payment
from gateway.commerce.settlement import unpayable
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import Scope
from gateway.database.writes import lifecycle
from gateway.database.writes import orders as order_writes
from gateway.errors import AlreadyDone, reject
from gateway.ids import identity_key
from gateway.loaders import Loaders
from gateway.settings import Settings

# A visit may be reported late (offline apps), but not from the future.
CLOCK_SKEW = timedelta(minutes=5)


async def record_payment(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    order_id: str, amount: int, currency: str, method: str, idempotency_key: str,
) -> Once:
    """Record a captured payment once per key. The order's ``paid`` counter grows by one
    conditional ``$inc`` that matches only while the order is open, in ``currency``, and
    ``paid + authorized + amount <= total``, so payments never exceed the total, whatever the
    concurrency; the payment's id is recorded with the increment, so a retry of a request
    that died before inserting the payment does not count it again.
    One payment may be worth at most ``Settings.max_order_total_base`` in the base currency
    (LIMIT_EXCEEDED, checked before anything is written). The payment that completes the
    total moves the order to PAID and earns its points.

    A fenced work (see "Fenced work" in gateway/commerce/idempotency.py): a retry that takes a
    stalled request's payment over re-uses its increment, so the request commits its claim
    before inserting the payment (one that was taken over writes nothing more:
    ``IDEMPOTENCY_KEY_IN_USE``) and the increment is given back only once no claim names the
    payment. Once the payment stands, the key stays on it: a failure after (the order PAID,
    its points) hands the claim on, and the retry finds the payment, finishes those steps
    (each once) and answers with it."""
    validation.idempotency_key(idempotency_key)
    if amount < 1:
        raise reject("INVALID", "amount must be a positive number of minor units.",
                     field="amount")

    counting = inserting = False  # this attempt's increment, its payment's insert

    async def work(attempt: Attempt) -> None:
        nonlocal counting, inserting
        payment_id = attempt.result_id
        if attempt.resumed:
            standing = await lifecycle.get(db, "payments", payment_id, scope=scope)
            if standing is not None:  # the attempt taken over wrote it: finish what follows
                attempt.written()
                await order_paid(db, loaders=loaders, settings=settings, scope=scope,
                                 order=await order_of(db, scope=scope, order_id=order_id),
                                 paid_at=standing["paid_at"])
                raise AlreadyDone(payment_id)
        fx = await fx_snapshot(loaders, amount=amount, currency=currency,
                               base_currency=settings.base_currency, field="currency")
        validation.worth(fx.base_amount, ceiling=settings.max_order_total_base,
                         base_currency=settings.base_currency, what="A payment",
                         field="amount")
        counting = True
        after = await order_writes.add_paid(db, scope=scope, order_id=order_id,
                                            payment_id=payment_id, amount=amount,
                                            currency=currency)
        if after is None:
            current = await lifecycle.get(db, "orders", order_id, scope=scope)
            if not lifecycle.applied(current, payment_id):  # else counted by the attempt
                counting = False  # refused: nothing counted
                unpayable(current, order_id=order_id, amount=amount, currency=currency)
            assert current is not None
            after = current
        doc = {
            "_id": payment_id, "order_id": order_id, "member_id": after.get("member_id"),
            "channel_id": after["channel_id"], "location_id": after.get("location_id"),
            "method": method, "amount": amount, "currency": currency, "status": "CAPTURED",
            "paid_at": now(), "fx_rate": fx.rate_text, "fx_snapshot_id": fx.snapshot_id,
            "amount_base": fx.base_amount,
            "recorded_by": caller,
        }
        await attempt.commit()  # refused when a retry took the payment over meanwhile
        inserting = True
        try:
            await order_writes.insert(db, "payments", doc)
        except DuplicateKeyError:  # the attempt taken over wrote it: the increment is its
            raise AlreadyDone(payment_id) from None
        attempt.written()  # the payment stands: a later failure keeps the key on it
        loaders.payments_by_id.prime(payment_id, doc)
        await order_paid(db, loaders=loaders, settings=settings, scope=scope, order=after,
                         paid_at=doc["paid_at"])

    async def undo(attempt: Attempt) -> None:
        """No claim names the payment any more: what any attempt wrote for it goes (the
        payment, if its insert failed only in the answer; the increment recorded under its id,
        when this attempt counted it or took the payment over)."""
        await undo_payment(db, attempt, order_id=order_id, amount=amount, inserting=inserting,
                           counting=counting)

    return await run_fenced(db, caller=caller, mutation="recordPayment", key=idempotency_key,
                            request=[order_id, amount, currency, method],
                            new_id=new_id("pay_"), work=work, undo=undo,
                            lease_seconds=settings.idempotency_lease_seconds)


async def record_visit(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, channel_id: str,
    location_id: str | None, member_id: str | None, identity: tuple[str, str] | None,
    kind: str, source: str, at: datetime | None, idempotency_key: str,
) -> Once:
    """Record a store visit, app session or view once per key (anonymous when no member)."""
    validation.idempotency_key(idempotency_key)
    validation.text(source, field="source", max_length=50)
    when = at or now()
    if when > now() + CLOCK_SKEW:
        raise reject("INVALID", "A visit cannot be in the future.", field="at")
    if member_id is not None and identity is not None:
        raise reject("INVALID", "Give member or identity, not both.", field="member")

    async def work(visit_id: str, resumed: bool) -> None:
        await check_not_done(db, "visits", visit_id, resumed)
        channel, location, member = await asyncio.gather(
            channel_doc(loaders, channel_id),
            loaders.locations_by_id.load(location_id) if location_id else _none(),
            _member(loaders, member_id, identity),
        )
        problem = (location_problem(location, location_id=location_id, channel=channel)
                   if location_id is not None else None)
        if problem is not None:
            raise reject(*problem, field="location")
        doc: Doc = {"_id": visit_id, "member_id": member, "channel_id": channel_id,
               "location_id": location_id, "kind": kind, "source": source, "at": when,
               "recorded_by": caller}
        change = rollups.visited(doc)
        if change is not None:
            doc["rollup_due"] = [rollups.due(change)]
        try:
            await order_writes.insert(db, "visits", doc)
        except DuplicateKeyError:  # the attempt taken over wrote it after all
            raise AlreadyDone(visit_id) from None
        if change is not None:
            await rollups.apply(db, collection="visits", doc_id=visit_id, change=change)
        loaders.visits_by_id.prime(visit_id, doc)

    return await run_once(
        db, caller=caller, mutation="recordVisit", key=idempotency_key,
        request=[channel_id, location_id, member_id, list(identity or ()), kind, source,
                 at.isoformat() if at else None],
        new_id=new_id("vis_"), work=work, lease_seconds=settings.idempotency_lease_seconds)


async def _none() -> None:
    return None


async def _member(loaders: Loaders, member_id: str | None,
                  identity: tuple[str, str] | None) -> str | None:
    if member_id is not None:
        return await member_id_of(loaders, member_id)
    if identity is not None:
        doc: Doc | None = await loaders.identities_by_id.load(identity_key(*identity))
        if doc is None:
            raise reject("NOT_FOUND", "No member holds this identity.", field="identity")
        found: str = doc["member_id"]
        return found
    return None
