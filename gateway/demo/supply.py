"""The demo's supply chain: where online orders are served from, transfers between locations
and the movements of on-hand stock, added to the generated data with a random stream of their
own (so every other record is the same with or without them).

- Each online shop and overseas marketplace names its fulfilment locations (the flagship store
  also ships from a FreshMart store; the overseas marketplaces ship cross-border from the
  Hangzhou centre, which stocks what they list).
- Transfers restock stores and outlets from the warehouses and between stores, most of them
  received, a few in transit, one created and one cancelled; with deliveries and counts at the
  warehouses, every change of on-hand units is a movement. The history is drawn backwards from
  today's levels, so each movement's ``after`` is the level the next one starts from, and the
  newest one's is today's level.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

Doc = dict[str, Any]

FULFILMENT = {
    "ch_flagship": ["loc_wh_hangzhou", "loc_fm_shanghai_xuhui"],
    "ch_miniapp": ["loc_wh_wuhan", "loc_wh_hangzhou", "loc_fm_beijing_chaoyang"],
    "ch_us_market": ["loc_wh_los_angeles_bonded"],
    "ch_my_market": ["loc_wh_hangzhou"],
    "ch_th_market": ["loc_wh_hangzhou"],
}
CROSS_BORDER = ("ch_my_market", "ch_th_market")  # stocked at Hangzhou for their listings
# (from, to, transfers received) in the two months of history
LANES = (
    ("loc_wh_hangzhou", "loc_fm_shanghai_xuhui", 7),
    ("loc_wh_hangzhou", "loc_wh_wuhan", 4),
    ("loc_fm_beijing_chaoyang", "loc_fm_chengdu_jinjiang", 4),
    ("loc_wh_wuhan", "loc_vl_tonglu", 3),
    ("loc_wh_wuhan", "loc_vl_lankao", 3),
)
IN_TRANSIT = (("loc_wh_hangzhou", "loc_fm_shanghai_xuhui"),
              ("loc_fm_beijing_chaoyang", "loc_fm_chengdu_jinjiang"))
CREATED = ("loc_wh_wuhan", "loc_vl_tonglu")
CANCELLED = ("loc_wh_hangzhou", "loc_wh_wuhan")
WAREHOUSES = ("loc_wh_hangzhou", "loc_wh_wuhan", "loc_wh_los_angeles_bonded")
# SKUs the tests set levels of: the demo's history leaves them alone.
UNTOUCHED = frozenset({
    "sku_bok_choy_500g", "sku_dried_mango_200g", "sku_aloe_body_wash_1l", "sku_dish_soap_1_5kg",
    "sku_baby_wipes_6x80", "sku_cherry_tomatoes_1kg", "sku_baby_diapers_m_60",
    "sku_sesame_oil_500ml", "sku_buckwheat_noodles_1kg", "sku_dianhong_black_tea_200g",
    "sku_baby_rice_cereal_250g", "sku_yellow_millet_1kg", "sku_facial_tissue_18pk",
    "sku_daily_mixed_nuts_30x25g", "sku_bamboo_toothbrush_4pk", "sku_bamboo_chopsticks_10_pairs",
})
BY = "ops@brand"


def _hex_id(at: datetime, serial: int) -> str:
    """An ObjectId-shaped hex id: the time, then a serial (ids sort by time)."""
    return f"{int(at.timestamp()):08x}{serial:016x}"


class _History:
    """Levels walked backwards in time: ``level`` is on hand just after the moment reached."""

    def __init__(self, inventory: list[Doc]) -> None:
        self.docs = {doc["_id"]: doc for doc in inventory}
        self.level = {key: doc["on_hand"] for key, doc in self.docs.items()}
        self.movements: list[Doc] = []

    def record(self, *, kind: str, sku: str, location_id: str, delta: int, at: datetime,
               reason: str, movement_id: str, transfer_id: str | None = None) -> None:
        key = f"{sku}@{location_id}"
        after = self.level[key]
        self.level[key] = after - delta
        self.movements.append({
            "_id": movement_id, "kind": kind, "sku": sku, "location_id": location_id,
            "delta": delta, "before": after - delta, "after": after, "reason": reason,
            "by": BY, "at": at, "transfer_id": transfer_id, "order_id": None})


def supply_chain(data: dict[str, list[Doc]], *, seed: int, end: datetime) -> None:
    """Add fulfilment locations, transfers and movements to ``data`` (in place)."""
    rng = random.Random(f"{seed}:supply")
    for channel in data["channels"]:
        if channel["_id"] in FULFILMENT:
            channel["fulfilment_location_ids"] = FULFILMENT[channel["_id"]]
    _stock_cross_border(rng, data)
    history = _History(data["inventory"])
    transfers: list[Doc] = []
    serial = iter(range(1, 1_000_000))

    def skus(source: str, destination: str) -> list[str]:
        return sorted(key.split("@")[0] for key in history.docs
                      if key.endswith(f"@{source}") and key.split("@")[0] not in UNTOUCHED
                      and f"{key.split('@')[0]}@{destination}" in history.docs)

    def transfer(source: str, destination: str, at: datetime, status: str) -> None:
        transfer_id = "trf_" + _hex_id(at, next(serial))
        chosen = rng.sample(skus(source, destination), rng.randint(1, 3))
        lines: list[dict[str, Any]] = []
        shipped = at + timedelta(hours=rng.randint(2, 20))
        received = shipped + timedelta(hours=rng.randint(20, 60))
        for sku in chosen:
            room = history.level[f"{sku}@{destination}"]
            if status == "RECEIVED" and room < 1:
                continue
            quantity = rng.randint(1, min(30, room)) if status == "RECEIVED" else rng.randint(2, 12)
            if status == "CREATED":
                doc = history.docs[f"{sku}@{source}"]
                quantity = min(quantity, doc["on_hand"] - doc["reserved"])
                if quantity < 1:
                    continue
            index = len(lines)
            lines.append({"sku": sku, "quantity": quantity})
            hex_id = transfer_id.removeprefix("trf_")
            if status == "RECEIVED":
                history.record(kind="TRANSFER_IN", sku=sku, location_id=destination,
                               delta=quantity, at=received, reason="transfer received",
                               movement_id=f"mov_{hex_id}-in-{index}", transfer_id=transfer_id)
            if status in ("RECEIVED", "IN_TRANSIT"):
                history.record(kind="TRANSFER_OUT", sku=sku, location_id=source,
                               delta=-quantity, at=shipped, reason="transfer shipped",
                               movement_id=f"mov_{hex_id}-out-{index}", transfer_id=transfer_id)
            _hold(history.docs, sku, destination, transfer_id, status, quantity)
            _hold(history.docs, sku, source, transfer_id, status, quantity, incoming=False)
        if not lines:
            return
        source_channel = {loc["_id"]: loc["channel_id"] for loc in data["locations"]}
        transfers.append({
            "_id": transfer_id, "from_location_id": source, "to_location_id": destination,
            "from_channel_id": source_channel[source],
            "to_channel_id": source_channel[destination], "lines": lines, "status": status,
            "note": f"replenishment {rng.randint(1000, 9999)}", "created_at": at,
            "created_by": BY,
            **({"shipped_at": shipped, "shipped_by": BY}
               if status in ("RECEIVED", "IN_TRANSIT") else {}),
            **({"received_at": received, "received_by": BY} if status == "RECEIVED" else {}),
            **({"cancelled_at": at + timedelta(hours=3), "cancelled_by": BY}
               if status == "CANCELLED" else {}),
        })

    # newest first: the history is drawn backwards from today's levels
    transfer(*CREATED, end - timedelta(hours=5), "CREATED")
    for lane in IN_TRANSIT:
        transfer(*lane, end - timedelta(hours=rng.randint(30, 40)), "IN_TRANSIT")
    events: list[tuple[datetime, tuple[str, str] | str]] = []
    for source, destination, count in LANES:
        events += [(end - timedelta(days=rng.randint(4, 60), hours=rng.randint(0, 23)),
                    (source, destination)) for _ in range(count)]
    events += [(end - timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 23)), warehouse)
               for warehouse in WAREHOUSES for _ in range(8)]
    events.append((end - timedelta(days=20), "CANCELLED"))
    for at, event in sorted(events, key=lambda e: e[0], reverse=True):
        if event == "CANCELLED":
            transfer(*CANCELLED, at, "CANCELLED")
        elif isinstance(event, tuple):
            transfer(*event, at, "RECEIVED")
        else:
            _count_or_delivery(rng, history, event, at, next(serial))
    data["transfers"] = transfers
    data["stock_movements"] = history.movements


def _hold(docs: dict[str, Doc], sku: str, location_id: str, transfer_id: str, status: str,
          quantity: int, incoming: bool = True) -> None:
    """The holds a transfer still has: units reserved at its source while CREATED, units on
    their way to its destination until RECEIVED (no deadline: the transfer was written)."""
    if incoming and status in ("CREATED", "IN_TRANSIT"):
        docs[f"{sku}@{location_id}"].setdefault("holds", []).append(
            {"order": transfer_id, "quantity": 0, "incoming": quantity, "token": "seed"})
    if not incoming and status == "CREATED":
        doc = docs[f"{sku}@{location_id}"]
        doc["reserved"] += quantity
        doc.setdefault("holds", []).append(
            {"order": transfer_id, "quantity": quantity, "token": "seed"})


def _count_or_delivery(rng: random.Random, history: _History, warehouse: str, at: datetime,
                       serial: int) -> None:
    """A delivery (most often) or a stock count at a warehouse."""
    keys = sorted(key for key in history.docs if key.endswith(f"@{warehouse}")
                  and key.split("@")[0] not in UNTOUCHED and history.level[key] > 0)
    if not keys:
        return
    key = rng.choice(keys)
    level = history.level[key]
    if rng.random() < 0.75:
        delta, reason = rng.randint(1, level), f"delivery {rng.randint(10000, 99999)}"
    else:
        delta, reason = -rng.randint(1, 5), "stock count"
    history.record(kind="ADJUSTMENT", sku=key.split("@")[0], location_id=warehouse,
                   delta=delta, at=at, reason=reason, movement_id=f"mov_{_hex_id(at, serial)}")


def _stock_cross_border(rng: random.Random, data: dict[str, list[Doc]]) -> None:
    """The Hangzhou centre stocks what the cross-border marketplaces list."""
    present = {doc["_id"] for doc in data["inventory"]}
    for product in data["products"]:
        listed = [o for o in product["offers"] if o["channel_id"] in CROSS_BORDER]
        key = f"{product['_id']}@loc_wh_hangzhou"
        if not listed or key in present:
            continue
        on_hand = rng.randint(20, 300) if any(o["available"] for o in listed) else 0
        data["inventory"].append({"_id": key, "sku": product["_id"],
                                  "location_id": "loc_wh_hangzhou", "on_hand": on_hand,
                                  "reserved": 0})
        present.add(key)
