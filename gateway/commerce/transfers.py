"""Transfers: units moved from one location to another (a warehouse restocking a store, a
store sending surplus to a rural outlet), in steps, each exactly once.

- **create** (``CREATED``): each line's units are reserved at the source (a hold, as for an
  order) and announced at the destination (an *incoming* hold), then the transfer is written,
  once per idempotency key. A request that dies before its insert leaves holds whose deadline
  passes: the sweeper gives the units back (``gateway.commerce.reservations``). A request that
  only stalled may wake up after a retry took its transfer over: both then work on the same
  transfer id and the same holds (the retry re-arms the stalled request's), so creating a
  transfer is a fenced work (:func:`gateway.commerce.idempotency.run_fenced`). A request
  commits its claim (one update conditional on its token) after reserving and announcing
  every line and before inserting the transfer, so one that was taken over writes no transfer
  (``IDEMPOTENCY_KEY_IN_USE``); a failed request gives back the transfer's holds at the source
  and its announcements at the destination (whichever request made them) only once no claim
  names the transfer any more; a retry that took over a committed claim gives back nothing.
  So a transfer exists only with every line reserved and announced.
- **ship** (``IN_TRANSIT``): the transfer changes status first (one conditional update: of a
  ship and a cancel racing, one wins), then each line's units leave the source
  (``on_hand -= q``, ``reserved -= q``) in the one update that removes its hold, so they leave
  exactly once whoever runs the line, and a ``TRANSFER_OUT`` movement is written for each.
- **receive** (``RECEIVED``): each line's units arrive (``on_hand += q``) in the one update
  that removes the incoming hold, so they arrive exactly once however many receipts run at
  once, with a ``TRANSFER_IN`` movement each; then the transfer changes status.
- **cancel** (``CANCELLED``, only while ``CREATED``): the reserved units are given back and
  the announcements removed.

A step cut half-way: ship and cancel mark the transfer ``pending`` with the step when they
change its status; any later call on the transfer (a retry, another caller, a receipt)
completes the step first, and the reservation sweeper completes one pending for longer than
``OMNIGW_RESERVATION_TIMEOUT_SECONDS``. A receipt needs no mark: its lines go first and its
status last, so its retry finishes it. Movements of a step have ids made of the transfer's
and the line's, so a completed step writes each once.

Scope: a partner moves stock only between locations of its channels; both must be visible to
it (else NOT_FOUND, as if they did not exist), and it sees only such transfers. An admin moves
stock between any two locations.

Ceilings: a line moves 1 to ``OMNIGW_MAX_STOCK_ADJUSTMENT`` units. A receipt that would take
a level past ``OMNIGW_MAX_STOCK_LEVEL`` stops at that line with ``LIMIT_EXCEEDED``: the lines
before it have arrived and the transfer stays ``IN_TRANSIT`` until a receipt, once there is
room, brings the rest. Shipping and cancelling add no on-hand units (a cancel gives back
reserved units that never left), so they have no ceiling.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from gateway import ids
from gateway.clock import now
from gateway.commerce import allocation, validation
from gateway.commerce.common import new_id
from gateway.commerce.idempotency import Attempt, Once, check_not_done, run_fenced, run_once
from gateway.commerce.stock import movement, past_ceiling
from gateway.database import Database
from gateway.database.products import stock_key
from gateway.database.query import Doc
from gateway.database.scope import Scope
from gateway.database.writes import stock as stock_writes
from gateway.database.writes import transfers as transfer_writes
from gateway.database.writes.stock import Hold
from gateway.errors import AlreadyDone, Rejected, UserError, reject
from gateway.loaders import Loaders
from gateway.settings import Settings


@dataclass(frozen=True)
class TransferLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class CreateTransfer:
    """A checked ``CreateTransferInput``."""

    source: str
    destination: str
    lines: tuple[TransferLine, ...]
    note: str | None
    idempotency_key: str

    def fingerprint_input(self) -> dict[str, object]:
        return {"from": self.source, "to": self.destination, "note": self.note,
                "lines": [[line.sku, line.quantity] for line in self.lines]}


def check_create_transfer(
    *, source: str, destination: str, lines: list[tuple[str, int]], note: str | None,
    idempotency_key: str, max_quantity: int,
) -> CreateTransfer:
    """Shape checks that need no database: ids, two different locations, 1 to 50 lines of
    1 to ``max_quantity`` units, each SKU once, the note and the key."""
    validation.idempotency_key(idempotency_key)
    source = ids.check(source, "loc_", field="from")
    destination = ids.check(destination, "loc_", field="to")
    if source == destination:
        raise reject("INVALID", "A transfer goes between two different locations.", field="to")
    if note is not None:
        validation.text(note, field="note")
    if not 1 <= len(lines) <= validation.MAX_LINES:
        raise reject("INVALID", f"A transfer has 1 to {validation.MAX_LINES} lines.",
                     field="lines")
    errors: list[UserError] = []
    checked: list[TransferLine] = []
    for i, (sku, quantity) in enumerate(lines):
        sku = ids.check(sku, "sku_", field=f"lines.{i}.sku")
        if quantity < 1:
            errors.append(UserError(f"lines.{i}.quantity", "INVALID",
                                    f"quantity must be at least 1, got {quantity}."))
        elif quantity > max_quantity:
            errors.append(UserError(f"lines.{i}.quantity", "LIMIT_EXCEEDED",
                                    f"quantity may be at most {max_quantity} per line "
                                    f"(OMNIGW_MAX_STOCK_ADJUSTMENT), got {quantity}."))
        elif any(line.sku == sku for line in checked):
            errors.append(UserError(f"lines.{i}.sku", "INVALID",
                                    f"{sku} appears on two lines; use one line."))
        else:
            checked.append(TransferLine(sku=sku, quantity=quantity))
    if errors:
        raise Rejected(*errors)
    return CreateTransfer(source=source, destination=destination, lines=tuple(checked),
                          note=note, idempotency_key=idempotency_key)


def _lines(doc: Doc) -> tuple[TransferLine, ...]:
    return tuple(TransferLine(sku=x["sku"], quantity=x["quantity"]) for x in doc["lines"])


async def create_transfer(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str,
    transfer: CreateTransfer,
) -> Once:
    """Create ``transfer`` exactly once per idempotency key; the transfer's id. A fenced work
    (:func:`gateway.commerce.idempotency.run_fenced`): see the module docstring."""
    reserved = inserting = False

    async def work(attempt: Attempt) -> None:
        nonlocal reserved, inserting
        transfer_id, resumed = attempt.result_id, attempt.resumed
        await check_not_done(db, "transfers", transfer_id, resumed)
        source, destination = await _locations(loaders, transfer)
        products = await loaders.products_by_sku.load_many([x.sku for x in transfer.lines])
        unknown = [UserError(f"lines.{i}.sku", "NOT_FOUND", f"Unknown SKU {line.sku}.")
                   for i, (line, product) in enumerate(zip(transfer.lines, products, strict=True))
                   if product is None]
        if unknown:
            raise Rejected(*unknown)
        hold = Hold(order_id=transfer_id, token=uuid.uuid4().hex,
                    until=now() + timedelta(seconds=settings.reservation_timeout_seconds))
        # A settled attempt gives no hold back: they are those the committed attempt needs.
        await allocation.reserve_lines(db, location_id=transfer.source, lines=transfer.lines,
                                       hold=hold, resumed=resumed, give_back=not attempt.settled)
        reserved = True
        for line in transfer.lines:
            if not await stock_writes.add_incoming(
                    db, sku=line.sku, location_id=transfer.destination,
                    quantity=line.quantity, hold=hold):
                await stock_writes.rearm(db, sku=line.sku, location_id=transfer.destination,
                                         hold=hold)
        at = now()
        doc = {
            "_id": transfer_id, "from_location_id": transfer.source,
            "to_location_id": transfer.destination,
            "from_channel_id": source["channel_id"],
            "to_channel_id": destination["channel_id"],
            "lines": [{"sku": x.sku, "quantity": x.quantity} for x in transfer.lines],
            "status": "CREATED", "note": transfer.note, "created_at": at,
            "created_by": caller,
        }
        await attempt.commit()  # refused when a retry took the transfer over meanwhile
        inserting = True
        try:
            await transfer_writes.insert(db, doc)
        except DuplicateKeyError:
            raise AlreadyDone(transfer_id) from None  # the attempt taken over wrote it
        attempt.written()
        loaders.transfers_by_id.prime(transfer_id, doc)

    async def undo(attempt: Attempt) -> None:
        """No claim names the transfer any more: what any attempt wrote for it goes (the
        transfer, if its insert failed only in the answer; the holds at the source and the
        announcements at the destination, when this attempt reserved every line or took the
        transfer over). A short line gave back this attempt's own holds already."""
        if inserting:
            await transfer_writes.delete(db, transfer_id=attempt.result_id)
        if reserved or attempt.resumed:
            await allocation.release_holds(db, location_id=transfer.source,
                                           lines=transfer.lines, owner=attempt.result_id)
            await stock_writes.drop_holds(
                db, doc_ids=[stock_key(x.sku, transfer.destination) for x in transfer.lines],
                owner=attempt.result_id)

    return await run_fenced(db, caller=caller, mutation="createTransfer",
                            key=transfer.idempotency_key, request=transfer.fingerprint_input(),
                            new_id=new_id("trf_"), work=work, undo=undo,
                            lease_seconds=settings.idempotency_lease_seconds)


async def _locations(loaders: Loaders, transfer: CreateTransfer) -> tuple[Doc, Doc]:
    """Both locations, as the caller sees them (a partner: only its channels')."""
    source, destination = await asyncio.gather(
        loaders.locations_by_id.load(transfer.source),
        loaders.locations_by_id.load(transfer.destination))
    errors = [UserError(field, "NOT_FOUND", f"Unknown location {location_id}.")
              for field, location_id, doc in (("from", transfer.source, source),
                                              ("to", transfer.destination, destination))
              if doc is None]
    if errors:
        raise Rejected(*errors)
    assert source is not None and destination is not None
    return source, destination


async def _step(
    *, db: Database, loaders: Loaders, settings: Settings, caller: str, mutation: str,
    transfer_id: str, idempotency_key: str, run: Callable[[str], Awaitable[Doc]],
) -> Once:
    """Run one step of a transfer once per idempotency key (its result is the transfer)."""
    validation.idempotency_key(idempotency_key)

    async def work(_: str, resumed: bool) -> None:
        loaders.transfers_by_id.prime(transfer_id, await run(transfer_id), force=True)

    return await run_once(db, caller=caller, mutation=mutation, key=idempotency_key,
                          request={"transfer": transfer_id}, new_id=transfer_id, work=work,
                          lease_seconds=settings.idempotency_lease_seconds)


async def _current(loaders: Loaders, transfer_id: str) -> Doc:
    doc = await loaders.transfers_by_id.load(transfer_id)
    if doc is None:
        raise reject("NOT_FOUND", f"Unknown transfer {transfer_id}.", field="transfer")
    return doc


async def ship_transfer(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    transfer_id: str, idempotency_key: str,
) -> Once:
    """CREATED -> IN_TRANSIT: the units leave the source. Shipping a transfer already in
    transit or received returns it unchanged; a cancelled one is CONFLICT."""

    async def run(transfer_id: str) -> Doc:
        at = now()
        doc = await transfer_writes.move(
            db, scope=scope, transfer_id=transfer_id, from_status="CREATED", to="IN_TRANSIT",
            extra={"shipped_at": at, "shipped_by": caller}, pending="SHIP", at=at)
        if doc is None:
            doc = await _current(loaders, transfer_id)
            if doc["status"] == "CANCELLED":
                raise reject("CONFLICT", f"Transfer {transfer_id} was cancelled.",
                             field="transfer")
        return await settle(db, transfer=doc, by=caller)

    return await _step(db=db, loaders=loaders, settings=settings, caller=caller,
                       mutation="shipTransfer", transfer_id=transfer_id,
                       idempotency_key=idempotency_key, run=run)


async def cancel_transfer(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    transfer_id: str, idempotency_key: str,
) -> Once:
    """CREATED -> CANCELLED: the reserved units come back at the source. Cancelling a
    cancelled transfer returns it unchanged; one that has shipped is CONFLICT."""

    async def run(transfer_id: str) -> Doc:
        at = now()
        doc = await transfer_writes.move(
            db, scope=scope, transfer_id=transfer_id, from_status="CREATED", to="CANCELLED",
            extra={"cancelled_at": at, "cancelled_by": caller}, pending="CANCEL", at=at)
        if doc is None:
            doc = await _current(loaders, transfer_id)
            if doc["status"] != "CANCELLED":
                raise reject("CONFLICT", f"Transfer {transfer_id} is {doc['status']} and can "
                             "no longer be cancelled.", field="transfer")
        return await settle(db, transfer=doc)

    return await _step(db=db, loaders=loaders, settings=settings, caller=caller,
                       mutation="cancelTransfer", transfer_id=transfer_id,
                       idempotency_key=idempotency_key, run=run)


async def receive_transfer(
    *, db: Database, loaders: Loaders, settings: Settings, scope: Scope, caller: str,
    transfer_id: str, idempotency_key: str,
) -> Once:
    """IN_TRANSIT -> RECEIVED: the units arrive at the destination, exactly once. Receiving a
    received transfer returns it unchanged; one not shipped, or cancelled, is CONFLICT."""

    async def run(transfer_id: str) -> Doc:
        doc = await settle(db, transfer=await _current(loaders, transfer_id), by=caller)
        if doc["status"] == "RECEIVED":
            return doc
        if doc["status"] != "IN_TRANSIT":
            raise reject("CONFLICT", f"Transfer {transfer_id} is {doc['status']}: only a "
                         "transfer in transit can be received.", field="transfer")
        await _arrive(db, settings=settings, transfer=doc, by=caller)
        at = now()
        moved = await transfer_writes.move(
            db, scope=scope, transfer_id=transfer_id, from_status="IN_TRANSIT",
            to="RECEIVED", extra={"received_at": at, "received_by": caller}, at=at)
        return moved or {**doc, "status": "RECEIVED"}

    return await _step(db=db, loaders=loaders, settings=settings, caller=caller,
                       mutation="receiveTransfer", transfer_id=transfer_id,
                       idempotency_key=idempotency_key, run=run)


async def _arrive(db: Database, *, settings: Settings, transfer: Doc, by: str) -> None:
    """Each line's units arrive at the destination, once; its movements."""
    destination, transfer_id = transfer["to_location_id"], transfer["_id"]
    movements: list[Doc] = []
    try:
        for i, line in enumerate(_lines(transfer)):
            after = await stock_writes.put_incoming(
                db, sku=line.sku, location_id=destination, quantity=line.quantity,
                owner=transfer_id, ceiling=settings.max_stock_level)
            if after is None and await _still_incoming(db, line, destination, transfer_id):
                raise past_ceiling(doing=f"Receiving {line.quantity}", sku=line.sku,
                                   location_id=destination, ceiling=settings.max_stock_level,
                                   field="transfer")
            movements.append(movement(
                kind="TRANSFER_IN", sku=line.sku, location_id=destination,
                delta=line.quantity, after=after, by=by, reason=transfer.get("note") or
                "transfer received", movement_id=_movement_id(transfer_id, "in", i),
                transfer_id=transfer_id))
    finally:
        await stock_writes.record_movements(db, movements)


async def _still_incoming(db: Database, line: TransferLine, location_id: str,
                          transfer_id: str) -> bool:
    level = await stock_writes.level(db, sku=line.sku, location_id=location_id)
    return level is not None and any(h.get("order") == transfer_id
                                     for h in level.get("holds", []))


def _movement_id(transfer_id: str, side: str, index: int) -> str:
    return f"mov_{transfer_id.removeprefix('trf_')}-{side}-{index}"


async def settle(db: Database, *, transfer: Doc, by: str | None = None) -> Doc:
    """Complete the step under way on ``transfer``, if any (see the module docstring); the
    transfer without its mark. Its movements name ``by`` (default: who started the step)."""
    step, transfer_id = transfer.get("pending"), transfer["_id"]
    if step is None:
        return transfer
    source, lines = transfer["from_location_id"], _lines(transfer)
    if step == "SHIP":
        movements = []
        for i, line in enumerate(lines):
            after = await stock_writes.take_held(db, sku=line.sku, location_id=source,
                                                 quantity=line.quantity, owner=transfer_id)
            movements.append(movement(
                kind="TRANSFER_OUT", sku=line.sku, location_id=source, delta=-line.quantity,
                after=after, by=by or transfer.get("shipped_by") or "", movement_id=_movement_id(
                    transfer_id, "out", i), reason=transfer.get("note") or "transfer shipped",
                transfer_id=transfer_id))
        await stock_writes.record_movements(db, movements)
    elif step == "CANCEL":
        for line in lines:
            await stock_writes.release_held(db, sku=line.sku, location_id=source,
                                            quantity=line.quantity, owner=transfer_id)
        await stock_writes.drop_holds(
            db, doc_ids=[stock_key(x.sku, transfer["to_location_id"]) for x in lines],
            owner=transfer_id)
    await transfer_writes.settled(db, transfer_id=transfer_id, step=step)
    return {key: value for key, value in transfer.items()
            if key not in ("pending", "pending_since")}
