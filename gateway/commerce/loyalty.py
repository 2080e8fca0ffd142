"""Loyalty: points earned by paid orders, and the tier that follows lifetime spend.

Earning rule (per channel kind, see ``POINTS_PER_BASE_UNIT``): when an order becomes PAID
its member earns ``floor(total_base / 100) x multiplier`` points, i.e. 1 point per whole unit
of the base currency (per yuan by default), doubled at rural outlets. An imported order
(``source: import``, gateway/commerce/imports.py) carries the prices a partner reports rather
than our offers' prices, so it earns at most ``Settings.max_import_points`` (default 10,000;
0 means imported orders earn none). Points follow the order's value net of its refunds: a
refund takes back what the refunded value earned (``take_back``), cancelling a paid order
what is left (``reverse``). Both take back only what the order's ledger says it earned: its
``EARN:<order>`` entry, read first. Without it nothing is taken back (its earn failed and was
never retried: the member never had those points); with it no more than its ``delta``. New
members get ``SIGNUP_BONUS`` points. Each change is one entry in
``points_ledger`` (``_id`` ``"<reason>:<order, refund or member id>"``, unique, so it is
written once), booked in a channel (``channel_id``: the order's, or the home channel for the
signup bonus) so that a partner reads the entries of its channels only.

Exactly once, however often a retry calls (importOrders, a refund): the member's points move
by one conditional update that records the entry's id in ``points_ops`` (the latest
``OPS_KEPT``) and matches only while it is absent, then the entry is written with the balance
after. A call that finds the points moved before writes the entry if it is missing (the call
that moved them died first), without a balance, which the call that moved them fills in if it
is still going. An entry written already while this call moved the points means that they had
moved before without their id being kept (before members kept it, or fallen off the list): the
second move is undone.

Tier: the highest tier whose threshold in ``Settings.tier_thresholds`` (lifetime spend in the
base currency, cancelled orders excluded, merged members included) the member reaches;
recomputed whenever an order of the member is paid or cancelled, and on merges.
"""

from __future__ import annotations

import contextlib
from typing import Final

from pymongo.errors import DuplicateKeyError

from gateway.clock import now
from gateway.database import Database, rollups
from gateway.database.query import Doc
from gateway.database.scope import ADMIN
from gateway.database.writes import members as member_writes
from gateway.loaders import Loaders
from gateway.loaders.members import cluster_of
from gateway.settings import Settings

POINTS_PER_BASE_UNIT: Final = {"ONLINE_SHOP": 1, "SUPERMARKET": 1, "RURAL_OUTLET": 2,
                               "OVERSEAS": 1}
SIGNUP_BONUS: Final = 100
# Order statuses in which an order has earned its points (it was paid).
EARNED: Final = frozenset({"PAID", "SHIPPED", "COMPLETED"})
LEDGER = "points_ledger"


def points_for(*, total_base: int, channel_kind: str, cap: int | None = None) -> int:
    """Points an order of ``total_base`` minor units earns in a channel of that kind, at most
    ``cap`` when one is given."""
    points = total_base // 100 * POINTS_PER_BASE_UNIT.get(channel_kind, 1)
    return points if cap is None else min(points, cap)


def tier_for(lifetime_base: int, settings: Settings) -> str:
    thresholds = settings.tier_thresholds
    for tier in ("PLATINUM", "GOLD", "SILVER"):
        if lifetime_base >= thresholds[tier]:
            return tier
    return "BRONZE"


async def lifetime_spend(db: Database, *, cluster: list[str]) -> int:
    """Lifetime spend in the base currency of a member and the members merged into it."""
    rows = await rollups.rollups_by_members(db, cluster, scope=ADMIN)
    return sum(int(row.get("spend_base", 0)) for row in rows)


async def _apply(db: Database, *, loaders: Loaders, settings: Settings, member_id: str,
                 channel_id: str, order_id: str | None, delta: int, reason: str,
                 entry: str | None = None) -> None:
    member = await loaders.members_for_rules.load(member_id)
    if member is None:
        return
    tier = tier_for(await lifetime_spend(db, cluster=cluster_of(member)), settings)
    entry_id = f"{reason}:{entry or order_id or member_id}"
    after = await member_writes.add_points_once(db, member_id=member_id, delta=delta,
                                                tier=tier, op=entry_id)
    doc = {"_id": entry_id, "member_id": member_id, "channel_id": channel_id,
           "order_id": order_id, "delta": delta, "reason": reason,
           "balance": None if after is None else after["points"], "at": now()}
    if after is None:  # moved before: the attempt that moved them may have died before this
        with contextlib.suppress(DuplicateKeyError):
            await member_writes.insert(db, LEDGER, doc)
        return
    try:
        await member_writes.insert(db, LEDGER, doc)
    except DuplicateKeyError:
        # written by a retry that found the points moved (by this call): it lacks the balance;
        # else by a call whose increment is not in points_ops (older, or fallen off the list),
        # so this one moved the points a second time: undo it
        if not await member_writes.fill_balance(db, entry_id=entry_id,
                                                balance=after["points"]):
            after = await member_writes.add_points(db, member_id=member_id, delta=-delta,
                                                   tier=None)
    if after is not None:
        loaders.member_written(after)


async def earn(db: Database, *, loaders: Loaders, settings: Settings, order: Doc) -> None:
    """Credit the points of an order that became PAID (by the request that moved it to PAID,
    and again by a retry that finishes a payment: the points move once, see above)."""
    if order.get("member_id") is None:
        return
    delta = await _net_points(loaders, settings, order, order.get("refunded_base", 0))
    await _apply(db, loaders=loaders, settings=settings, member_id=order["member_id"],
                 channel_id=order["channel_id"], order_id=order["_id"], delta=delta,
                 reason="EARN")


async def reverse(db: Database, *, loaders: Loaders, settings: Settings, order: Doc) -> None:
    """Take back the points of a paid order that was cancelled (``order`` as it was just
    before, or as a retry of the cancel finds it before its money goes back: what its refunds
    took back already stays taken): the points of its value net of its refunds, no more than
    its ``EARN`` entry credited, and none without one. Once (the entry ``REVERSE:<order>``),
    so a retry of a cancel calls this again whenever the order is cancelled."""
    if order.get("member_id") is None:
        return
    earned = await _earned(db, order)
    if earned <= 0:
        return
    delta = min(await _net_points(loaders, settings, order, order.get("refunded_base", 0)),
                earned)
    if delta <= 0:  # refunded in full before the cancel: its refunds took it all back
        return
    await _apply(db, loaders=loaders, settings=settings, member_id=order["member_id"],
                 channel_id=order["channel_id"], order_id=order["_id"], delta=-delta,
                 reason="REVERSE")


async def take_back(db: Database, *, loaders: Loaders, settings: Settings, order: Doc,
                    refund_id: str, base_before: int, base_after: int) -> None:
    """A refund of an order that earned its points (PAID, SHIPPED or COMPLETED) takes back
    what the refunded value earned: the points of the net value before the refund less
    those of the net value after (so the refunds of an order, however split, take back
    exactly what it earned), no more than its ``EARN`` entry credited, and none without one.
    The tier follows the lifetime spend, which refunds lower."""
    if order.get("member_id") is None or order["status"] not in EARNED:
        return
    earned = await _earned(db, order)
    if earned <= 0:
        return
    before = await _net_points(loaders, settings, order, base_before)
    after = await _net_points(loaders, settings, order, base_after)
    await _apply(db, loaders=loaders, settings=settings, member_id=order["member_id"],
                 channel_id=order["channel_id"], order_id=order["_id"],
                 delta=-min(before - after, earned), reason="REFUND", entry=refund_id)


async def _earned(db: Database, order: Doc) -> int:
    """The points the order's ledger says it earned: the ``delta`` of its ``EARN`` entry
    (written once its points moved), 0 without one."""
    entry = await member_writes.find_one(db, LEDGER, f"EARN:{order['_id']}")
    return 0 if entry is None else int(entry["delta"])


async def _net_points(loaders: Loaders, settings: Settings, order: Doc,
                      refunded_base: int) -> int:
    """The points an order earns for its value net of ``refunded_base``."""
    channel = await loaders.channels_by_id.load(order["channel_id"])
    return points_for(total_base=max(0, order["total_base"] - refunded_base),
                      channel_kind=channel["kind"] if channel else "",
                      cap=settings.max_import_points if order.get("source") == "import"
                      else None)
