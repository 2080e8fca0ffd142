"""The floor for the member-360 benchmark: PyMongo + orjson by hand, the same queries as the
gateway, concurrent wherever the data allows, building the same JSON."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from decimal import Decimal
from typing import Any

import orjson

Doc = dict[str, Any]
TIME = {"orders": "placed_at", "payments": "paid_at", "visits": "at", "order_events": "at"}
TYPENAME = {"orders": "Order", "payments": "Payment", "visits": "Visit",
            "order_events": "OrderEvent"}


def amount(minor: int) -> str:
    return str(Decimal(minor).scaleb(-2).quantize(Decimal("0.01")))


def history_tag(member_id: str) -> str:
    """The tag a history cursor carries: its list (field, member, filter, collections)."""
    unfiltered = dict.fromkeys(("channel_ids", "member_id", "location_id", "statuses", "kinds",
                                "methods", "since", "until"))
    raw = orjson.dumps(["history", member_id, unfiltered, list(TIME)])
    return base64.urlsafe_b64encode(hashlib.blake2b(raw, digest_size=6).digest()).decode()


def cursor(tag: str, at: Any, id_: str) -> str:
    raw = orjson.dumps([tag, at.isoformat(), id_])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def listed(cursor_: Any) -> list[Doc]:
    docs: list[Doc] = await cursor_.to_list(None)
    return docs


async def latest(db: Any, collection: str, ids: list[str], limit: int) -> list[Doc]:
    field = TIME[collection]
    return await listed(await db[collection].aggregate([
        {"$match": {"member_id": {"$in": ids}}},
        {"$sort": {field: -1, "_id": -1}},
        {"$group": {"_id": "$member_id", "docs": {"$push": "$$ROOT"}}},
        {"$project": {"docs": {"$slice": ["$docs", limit]}}},
    ]))


async def member360_floor(db: Any, *, first: int, base: str) -> bytes:
    members = await listed(db.members.find({}, sort=[("_id", 1)], limit=first + 1))
    members = members[:first]
    ids = [m["_id"] for m in members]
    history_limit = 21
    identities, channels, orders, payments, visits, events, rollups = (
        await asyncio.gather(
            listed(db.identities.find({"member_id": {"$in": ids}},
                                      sort=[("channel_id", 1), ("_id", 1)])),
            listed(db.channels.find({})),
            latest(db, "orders", ids, history_limit),
            latest(db, "payments", ids, history_limit),
            latest(db, "visits", ids, history_limit),
            latest(db, "order_events", ids, history_limit),
            listed(db.member_rollups.find({"member_id": {"$in": ids}})),
        )
    )
    channel = {c["_id"]: c for c in channels}
    pages: dict[str, list[tuple[Any, str, str, Doc]]] = {m: [] for m in ids}
    for collection, rows in (("orders", orders), ("payments", payments), ("visits", visits),
                             ("order_events", events)):
        for row in rows:
            pages[row["_id"]] += [(d[TIME[collection]], d["_id"], collection, d)
                                  for d in row["docs"]]
    shown: dict[str, list[tuple[Any, str, str, Doc]]] = {}
    more: dict[str, bool] = {}
    for member_id, items in pages.items():
        items.sort(key=lambda item: (item[0], item[1]), reverse=True)
        shown[member_id], more[member_id] = items[:20], len(items) > 20
    page_docs = [(c, d) for items in shown.values() for _, _, c, d in items]
    order_ids = [d["_id"] for c, d in page_docs if c == "orders"]
    skus = list({line["sku"] for c, d in page_docs if c == "orders" for line in d["lines"]})
    location_ids = list({d["location_id"] for _, d in page_docs if d.get("location_id")})
    products, order_payments, locations = await asyncio.gather(
        listed(db.products.find({"_id": {"$in": skus}})),
        listed(db.payments.find({"order_id": {"$in": order_ids}},
                                sort=[("paid_at", 1), ("_id", 1)])),
        listed(db.locations.find({"_id": {"$in": location_ids}})),
    )
    product_name = {p["_id"]: p["name"] for p in products}
    location = {loc["_id"]: loc for loc in locations}
    paid: dict[str, list[Doc]] = {}
    for p in order_payments:
        paid.setdefault(p["order_id"], []).append({"id": p["_id"],
                                                   "amount": {"amount": amount(p["amount"])}})
    by_member_identities: dict[str, list[Doc]] = {m: [] for m in ids}
    for i in identities:
        by_member_identities[i["member_id"]].append(
            {"externalId": i["external_id"],
             "channel": {"id": i["channel_id"], "name": channel[i["channel_id"]]["name"]}})
    summaries: dict[str, dict[str, Doc]] = {m: {} for m in ids}
    for row in rollups:  # one per member and channel (gateway/commerce/rollups.py)
        if row["orders"] or row["visits"]:
            summaries[row["member_id"]][row["channel_id"]] = {
                **row, "times": [row["first_at"], row["last_at"]]}

    def node(collection: str, d: Doc) -> Doc:
        loc = location.get(d.get("location_id") or "")
        out: Doc = {"__typename": TYPENAME[collection], "at": d[TIME[collection]].isoformat(),
                    "channel": {"id": d["channel_id"]},
                    "location": {"id": loc["_id"], "name": loc["name"]} if loc else None}
        if collection == "orders":
            out["total"] = {"amount": amount(d["total"])}
            out["lines"] = [{"quantity": ln["quantity"],
                             "product": {"name": product_name[ln["sku"]]}} for ln in d["lines"]]
            out["payments"] = paid.get(d["_id"], [])
        elif collection == "payments":
            out.update(method=d["method"], amount={"amount": amount(d["amount"])})
        elif collection == "visits":
            out["kind"] = d["kind"]
        return out

    edges_out = []
    for m in members:
        tag = history_tag(m["_id"])
        edges = [{"cursor": cursor(tag, at, id_), "node": node(c, d)}
                 for at, id_, c, d in shown[m["_id"]]]
        channel_rows = summaries[m["_id"]]
        edges_out.append({"node": {
            "id": m["_id"], "name": m["name"],
            "identities": by_member_identities[m["_id"]],
            "history": {"edges": edges, "pageInfo": {
                "hasNextPage": more[m["_id"]],
                "endCursor": edges[-1]["cursor"] if edges else None}},
            "channelSummaries": [
                {"channel": {"id": ch}, "orderCount": str(e["orders"]),
                 "spend": {"amount": amount(e["spend"])},
                 "spendBase": {"amount": amount(e["spend_base"])},
                 "visitCount": str(e["visits"]),
                 "firstActivityAt": min(e["times"]).isoformat(),
                 "lastActivityAt": max(e["times"]).isoformat()}
                for ch, e in sorted(channel_rows.items())],
            "lifetimeValue": {"amount": amount(sum(e["spend_base"]
                                                   for e in channel_rows.values())),
                              "currencyCode": base},
        }})
    return orjson.dumps({"data": {"members": {"edges": edges_out}}})
