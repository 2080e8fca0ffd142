"""What the steps of an order's life share: stable operation ids, the order as the caller may
see it, and the order events that put each step in the member's timeline.

**Operation ids.** A shipment, refund, return, capture... has an id fixed by what asks for it:
the caller, the mutation and its idempotency key (:func:`stable_id`), or the object it acts
on (a capture is once per payment). Every document a step changes records that id in the same
update (``gateway.database.writes.lifecycle``), so a step is applied once however often it
runs: concurrently, replayed, or retried after a request that died half-way (the retry finds
the steps already applied and completes the rest: the work rolls forward).

**Order events** (``order_events``, ids ``oev_``): one document per step (SHIPPED,
READY_FOR_PICKUP, COLLECTED, PICKUP_EXPIRED, COMPLETED, CANCELLED, CAPTURED, VOIDED, REFUNDED,
RETURNED) with the order's member, channel and location, the time, who did it and the step's
details. They are the fourth activity collection: ``Member.history``, the ``memberActivity``
and ``channelOrders`` subscriptions (through the live poller, which sees new documents only)
and ``Order.events`` read them. An event's id is derived from its operation's, so it is
written once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from gateway.clock import now
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import Scope
from gateway.database.writes import lifecycle
from gateway.errors import reject

EVENT_KINDS = ("SHIPPED", "READY_FOR_PICKUP", "COLLECTED", "PICKUP_EXPIRED", "COMPLETED",
               "CANCELLED", "CAPTURED", "VOIDED", "REFUNDED", "RETURNED")


def stable_id(prefix: str, *parts: str) -> str:
    """An id fixed by ``parts`` (e.g. caller, mutation, idempotency key): 24 hex digits."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}{digest}"


def event_id(op_id: str, kind: str) -> str:
    """The id of the event that ``op_id`` writes."""
    return stable_id("oev_", op_id, kind)


async def order_of(db: Database, *, scope: Scope, order_id: str) -> Doc:
    """The order as the caller may see it; NOT_FOUND otherwise (another channel's order is
    unknown to a partner)."""
    doc = await lifecycle.get(db, "orders", order_id, scope=scope)
    if doc is None:
        raise reject("NOT_FOUND", f"Unknown order {order_id}.", field="order")
    return doc


async def record_event(db: Database, *, order: Doc, kind: str, op_id: str, by: str,
                       location_id: str | None = None, **details: Any) -> Doc:
    """Write the event of one step (once: its id is the operation's)."""
    doc: Doc = {
        "_id": event_id(op_id, kind), "order_id": order["_id"],
        "member_id": order.get("member_id"), "channel_id": order["channel_id"],
        "location_id": location_id if location_id is not None else order.get("location_id"),
        "kind": kind, "at": now(), "by": by, "op_id": op_id, **details,
    }
    await lifecycle.insert_once(db, "order_events", doc)
    return doc


def delivered(line: Doc, order: Doc) -> int:
    """Units of a line that reached the buyer: shipped or collected. An order that is SHIPPED
    or COMPLETED without any shipment recorded (sold at a till and imported, or written
    before shipments were) delivered them all."""
    if "shipped" in line:
        return int(line["shipped"])
    legacy = order["status"] in ("SHIPPED", "COMPLETED") and not order.get("shipments")
    return int(line["quantity"]) if legacy else 0


def captured(order: Doc) -> int:
    """Minor units captured for an order (``paid``; an order written without the counter
    and already paid was paid in full)."""
    if "paid" in order:
        return int(order["paid"])
    return int(order["total"]) if order["status"] in ("PAID", "SHIPPED", "COMPLETED") else 0
