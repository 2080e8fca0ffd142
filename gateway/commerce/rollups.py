"""Member rollups: per (member, channel), the totals that ``channelSummaries`` and
``lifetimeValue`` read, kept up to date by every write that changes them, so that reading them
costs the same for a member with 20 orders and one with 100,000.

A rollup (collection ``member_rollups``, ``_id`` ``"<member>|<channel>"``) holds ``orders``
(cancelled ones excluded), ``spend`` (channel currency), ``spend_base`` (base currency, each
order's FX snapshot), ``visits``, ``first_at`` and ``last_at`` (the first and last order
placed, cancelled ones included, or visit) and ``recent`` (the ids of the last
:data:`~gateway.database.writes.rollups.RECENT` events folded in). A rollup is keyed by the
member the activity names: merging members moves no activity, so a merge or an unmerge changes
no rollup (the reader folds a cluster's rollups together, as it folds their histories).

**An event, exactly once, without transactions.** An event is one change of the totals: an
order placed, an order cancelled, a visit, a refund (returns refund too): a rollup's spend is
its orders' totals less their refunds, cancelled orders excluded. Its writer:

1. builds a :class:`Change` (an event id unique to the event, e.g. the order id, or
   ``"<order id>:cancel"``; the member, the channel and the amounts);
2. adds :func:`due` of it to the ``rollup_due`` array of the activity document **in the same
   single-document write that records the event** (the order's insert, the cancel's
   conditional findAndModify): the event and the obligation to fold it are written together,
   or neither is;
3. calls :func:`apply` after that write: ONE conditional update of the rollup that adds the
   amounts and pushes the event id into ``recent``, matching only while ``recent`` does not
   hold that id; then one update that removes the due entry from the activity document.

Why that is exactly once:

- *At least once*: the due entry stays on the activity document until a fold of its event is
  done (by this writer, or else by the sweeper below), and it exists only if the event does.
- *At most once*: every fold of an event, whoever sends it, is the conditional update on
  ``recent``: the first one folds, later ones match nothing. A retry that replays the
  idempotency key writes nothing; a retry that takes a claim over finds the activity written
  (``AlreadyDone``) and leaves its due entry to the sweeper; a holder that was only stalled and
  wakes up to fold is refused by ``recent``; two sweepers refuse each other the same way.
- *A request that dies* after its write and before its fold leaves the due entry: the sweeper
  (:func:`sweep`, run by every process with the reservation sweeper) folds every due entry
  older than :data:`SETTLE_AFTER` and removes it.
- The bound: ``recent`` keeps the last :data:`~gateway.database.writes.rollups.RECENT` event
  ids of one member and channel, so a second fold of an event is refused as long as fewer than
  that many other events of the same member and channel were folded since its first fold. The
  last fold of an event comes at most :data:`SETTLE_AFTER` plus one sweep after its write.

``omnigw rollups rebuild`` recomputes every rollup from the activity collections, and
``--check`` compares the rollups with that recomputation (``gateway.database.rollups``).

**Adding a write that changes the totals** (returns, refunds...): build a :class:`Change`,
put :func:`due` of it in the write that records the event, call :func:`apply` after it, and
add the collection to :data:`DUE_COLLECTIONS` (and an index on ``rollup_due.until`` in
``gateway/database/indexes.py``) so that the sweeper finishes what a dying request left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pymongo.errors import PyMongoError

from gateway.clock import now, utc
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.writes import rollups as writes

log = logging.getLogger("gateway.rollups")

# A due entry older than this belongs to a writer that stopped: the sweeper folds it.
SETTLE_AFTER: Final = timedelta(seconds=60)
# The collections whose documents may carry due entries (the sweeper reads them).
DUE_COLLECTIONS: Final = ("orders", "visits")
BATCH: Final = 500  # documents per collection and sweep; the next sweep takes the rest


@dataclass(frozen=True)
class Change:
    """What one event adds to its member's rollup in one channel (negative to take away)."""

    event_id: str
    member_id: str
    channel_id: str
    orders: int = 0
    spend: int = 0
    spend_base: int = 0
    visits: int = 0
    at: datetime | None = None


def due(change: Change, *, at: datetime | None = None) -> Doc:
    """The entry to add to the activity document's ``rollup_due`` array in the write that
    records the event (``at``: that write's time, default now)."""
    return {"id": change.event_id, "until": (at or now()) + SETTLE_AFTER,
            "member_id": change.member_id, "channel_id": change.channel_id,
            "orders": change.orders, "spend": change.spend, "spend_base": change.spend_base,
            "visits": change.visits, "at": change.at}


def change_of(entry: Doc) -> Change:
    """The change a due entry (:func:`due`) stands for."""
    return Change(event_id=entry["id"], member_id=entry["member_id"],
                  channel_id=entry["channel_id"], orders=entry["orders"], spend=entry["spend"],
                  spend_base=entry["spend_base"], visits=entry["visits"], at=entry.get("at"))


def order_placed(order: Doc) -> Change | None:
    """The change of placing ``order`` (``None`` for an order without a member)."""
    if order.get("member_id") is None:
        return None
    cancelled = order.get("status") == "CANCELLED"
    return Change(event_id=order["_id"], member_id=order["member_id"],
                  channel_id=order["channel_id"], orders=0 if cancelled else 1,
                  spend=0 if cancelled else order["total"],
                  spend_base=0 if cancelled else order["total_base"], at=order["placed_at"])


def order_cancelled(order: Doc) -> Change | None:
    """The change of cancelling ``order`` (as it was before: not cancelled): what it still
    counts, its total less what was refunded of it (the cancel's write matches only while
    ``refunded`` is what was read)."""
    if order.get("member_id") is None:
        return None
    return Change(event_id=f"{order['_id']}:cancel", member_id=order["member_id"],
                  channel_id=order["channel_id"], orders=-1,
                  spend=-(order["total"] - order.get("refunded", 0)),
                  spend_base=-(order["total_base"] - order.get("refunded_base", 0)))


def order_refunded(order: Doc, *, refund_id: str, amount: int, base: int) -> Change | None:
    """The change of refunding ``amount`` (``base`` in the base currency) of ``order`` (as it
    was before; ``None`` for an order without a member, or a cancelled one: its cancel took
    all it counted)."""
    if order.get("member_id") is None or order["status"] == "CANCELLED":
        return None
    return Change(event_id=refund_id, member_id=order["member_id"],
                  channel_id=order["channel_id"], spend=-amount, spend_base=-base)


def visited(visit: Doc) -> Change | None:
    """The change of ``visit`` (``None`` for an anonymous one)."""
    if visit.get("member_id") is None:
        return None
    return Change(event_id=visit["_id"], member_id=visit["member_id"],
                  channel_id=visit["channel_id"], visits=1, at=visit["at"])


async def apply(db: Database, *, collection: str, doc_id: str, change: Change) -> None:
    """Fold ``change`` into its rollup (once) and remove its due entry from ``doc_id`` of
    ``collection``: two commands. Call it after the write that added :func:`due` of it.

    It never raises a database error: the event is already written, so a failure here must
    not fail the request; the due entry stays and the sweeper folds it (logged)."""
    try:
        await _fold(db, change)
        await writes.settle(db, collection=collection, doc_id=doc_id, event_id=change.event_id)
    except PyMongoError as exc:
        log.warning("rollup of %s left to the sweeper (%s)", change.event_id,
                    type(exc).__name__, extra={"event_id": change.event_id})


async def _fold(db: Database, change: Change) -> bool:
    return await writes.fold(
        db, member_id=change.member_id, channel_id=change.channel_id,
        event_id=change.event_id, at=change.at,
        counts={"orders": change.orders, "spend": change.spend,
                "spend_base": change.spend_base, "visits": change.visits})


async def sweep(db: Database) -> int:
    """Fold and remove every due entry older than :data:`SETTLE_AFTER` (writers that stopped
    before their fold); the number of entries that changed a rollup."""
    at = now()
    folded = 0
    for collection in DUE_COLLECTIONS:
        for doc in await writes.overdue(db, collection, now=at, limit=BATCH):
            for entry in doc.get("rollup_due", []):
                if utc(entry["until"]) >= at:
                    continue
                change = change_of(entry)
                if await _fold(db, change):
                    folded += 1
                    log.warning("rollup of %s folded by the sweeper (its writer stopped)",
                                change.event_id, extra={"event_id": change.event_id})
                await writes.settle(db, collection=collection, doc_id=doc["_id"],
                                    event_id=change.event_id)
    return folded
