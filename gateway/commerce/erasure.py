"""Erasing a member's personal data, and exporting all of it (PIPL, GDPR).

**What a member is, once erased.** The member id (``mem_...``) is the gateway's own surrogate
key: it holds nothing about the person, every order, payment, visit and ledger entry is keyed
by it, and orders, payments and visits are sharded on it. Erasure keeps it as the person's
pseudonym and removes everything that says who they are or links them to an account outside
the gateway, so that no personal datum remains and every aggregate (sales, footfall,
conversion, reach, cohorts, summaries, lifetime value, points, tiers) stays exactly what it
was: the same documents, under the same key, with the same amounts and times.

**Per collection** (the person is the member's cluster: the member and every member merged
into it; erasing a merged member erases its survivor's cluster):

=========================  ============================================================
``members``                name becomes "Erased member"; phone, e-mail and the search
                           fields are removed; ``erased_at`` is set. Tier, points, dates,
                           home channel and consent state stay (aggregates).
``member_keys``            the phone keys are deleted (the number may enrol again).
``identities``             deleted: their ids are the channels' own account ids (a rural
                           outlet's is a phone number); ``memberByIdentity`` finds nothing.
``merges``                 the moved identity ids of the cluster's merges are emptied.
``consents``               the records stay (purpose, channel, granted, time: consent
                           statistics stay exact); their free-text ``source`` is replaced
                           by "erased".
``orders``, ``refunds``,   the free text clients typed about the person's orders and
``returns``,               visits (shipments' carrier and tracking number, refunds' and
``order_events``,          returns' reasons, returned lines' write-off reasons, visits'
``visits``                 source) is replaced by "erased"
                           (:mod:`gateway.commerce.redaction`). Money, ids, codes, counts,
                           times and the gateway's own texts stay: the books balance.
``idempotency``            the request fingerprints of the member's writes (enrolment,
                           orders, payments, visits, consent, refunds, returns, shipments)
                           are removed: they are digests of inputs that held names,
                           phones, external ids or free text. A replay of such a key
                           returns the stored result without comparing inputs.
``payments``,              nothing: they hold no personal datum beyond the pseudonymous
``points_ledger``,         member id (the test of erasure scans every field of every
``member_rollups``,        document of every collection for the person's data).
``coupon_redemptions``
``audit``                  an entry records the erasure: the member id, who, when.
=========================  ============================================================

Every step is one command whose effect is idempotent, so a retry (the same idempotency key,
or a new one) completes an erasure that stopped half-way; erasing an erased member changes
nothing more and is recorded again. Partners no longer see the member (they see members
through identities). Segments leave erased members out.

**Export** returns every stored document that names the person, as one JSON document by
collection (:data:`EXPORTED`), and records an audit entry: the cluster's members, and the
documents of :data:`BY_MEMBER` whose field names one of them (each on an index that starts
with that field); the refunds and returns of the person's orders (on their ``order_id``
index: each names its order's member); the merges the cluster took part in; the idempotency
records of the writes erasure strips (whose result is the member, or one of its orders,
payments, visits, consent records, refunds, returns or shipments). Every other collection is
named in :data:`NOT_EXPORTED`, with why it holds no member data; ``tests/test_erasure.py``
walks every collection the gateway declares, seeds or holds, so a new one fails it until it
is one or the other, and checks that every stored document naming the person is in the
export. Both erasure and export need an admin key.
"""

from __future__ import annotations

from typing import Final

from gateway.clock import now
from gateway.commerce import validation
from gateway.commerce.common import new_id
from gateway.commerce.idempotency import Once, check_not_done, run_once
from gateway.commerce.redaction import ERASED_TEXT, FREE_TEXT, fields, redactions
from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.writes import privacy
from gateway.errors import reject
from gateway.loaders.members import cluster_of
from gateway.settings import Settings

ERASED_NAME: Final = "Erased member"
# The collections whose documents of the member are exported, with the field naming it.
BY_MEMBER: Final = (("identities", "member_id"), ("orders", "member_id"),
                    ("payments", "member_id"), ("visits", "member_id"),
                    ("order_events", "member_id"), ("points_ledger", "member_id"),
                    ("member_rollups", "member_id"), ("consents", "member_id"),
                    ("member_keys", "member_id"), ("audit", "member_id"),
                    ("coupon_redemptions", "member_id"))
# Exported as the person's orders' (their ``order_id`` is indexed; their ``member_id`` is not).
BY_ORDER: Final = ("refunds", "returns")
# The documents the person's own writes create (with the orders' shipments): their
# idempotency records hold digests of inputs with personal data or free text (erasure strips
# them; export returns them).
WRITTEN: Final = ("orders", "payments", "visits", "consents", "refunds", "returns")
# Every collection in the export, in its order.
EXPORTED: Final = ("members", *(c for c, _ in BY_MEMBER), *BY_ORDER, "merges", "idempotency")
# Every other collection, and why it holds no data of a member.
NOT_EXPORTED: Final[dict[str, str]] = {
    "channels": "the brand's channels: reference data",
    "locations": "stores, outlets and warehouses: reference data",
    "fx_rates": "exchange-rate snapshots: reference data",
    "products": "the catalogue and its prices per channel",
    "inventory": "stock per SKU and location; a reservation hold names an order, not a "
                 "member, and goes when the order is paid or the hold expires",
    "stock_movements": "changes of stock per SKU and location, by the key that made them "
                       "(a shipment, pick-up, return or sale names its order, never a member)",
    "transfers": "units moved between locations, by the key that moved them",
    "fx_history": "every exchange rate set, by the key that set it: reference data",
    "campaigns": "promotions: their channels, windows and rules",
    "coupons": "codes of a campaign and their count of uses; who used one is a redemption",
    "segments": "saved rules of a key's owner (tiers, kinds, windows, locations); members "
                "are evaluated on read, never stored",
    "api_keys": "the callers' keys",
    "rate_limits": "request buckets per key",
}


async def person(db: Database, member_id: str) -> list[Doc]:
    """The member documents of the person ``member_id`` names: its survivor's cluster,
    survivor first. NOT_FOUND when unknown."""
    doc = await privacy.read_member(db, member_id)
    if doc is None:
        raise reject("NOT_FOUND", f"Unknown member {member_id}.", field="member")
    if doc.get("merged_into"):
        survivor = await privacy.read_member(db, doc["merged_into"])
        doc = survivor or doc
    cluster = cluster_of(doc)
    merged = [await privacy.read_member(db, m) for m in cluster[1:]]
    return [doc, *(m for m in merged if m is not None)]


async def erase_member(*, db: Database, settings: Settings, caller: str, member_id: str,
                       idempotency_key: str) -> Once:
    """Erase the person's personal data (see the module docstring); the audit entry's id is
    the result."""
    validation.idempotency_key(idempotency_key)

    async def work(entry_id: str, resumed: bool) -> None:
        await check_not_done(db, privacy.AUDIT, entry_id, resumed)
        docs = await person(db, member_id)
        cluster = [d["_id"] for d in docs]
        found = await _texts_and_ids(db, cluster)
        await privacy.update_all(db, "idempotency",
                                 {"result_id": {"$in": cluster + written_ids(found)}},
                                 {"$unset": {"fingerprint": ""}})
        await privacy.delete_of(db, "identities", cluster)
        await privacy.update_all(db, "merges", {"merged_id": {"$in": cluster}},
                                 {"$set": {"identity_ids": []}})
        await privacy.delete_of(db, "member_keys", cluster)
        await privacy.update_all(db, "consents", {"member_id": {"$in": cluster}},
                                 {"$set": {"source": ERASED_TEXT}})
        for collection in FREE_TEXT:
            await privacy.set_each(db, collection, {
                d["_id"]: change for d in found[collection]
                if (change := redactions(collection, d))})
        at = now()
        await privacy.update_all(
            db, "members", {"_id": {"$in": cluster}},
            {"$set": {"name": ERASED_NAME, "phone": None, "email": None},
             "$unset": {"search": ""}, "$min": {"erased_at": at}})
        await privacy.insert_audit(db, {"_id": entry_id, "action": "ERASE",
                                        "member_id": cluster[0], "members": cluster,
                                        "by": caller, "at": at})

    return await run_once(
        db, caller=caller, mutation="eraseMember", key=idempotency_key, request=[member_id],
        new_id=new_id("aud_"), work=work, lease_seconds=settings.idempotency_lease_seconds)


async def _texts_and_ids(db: Database, cluster: list[str]) -> dict[str, list[Doc]]:
    """The ids of the person's writes (:data:`WRITTEN`) with the free text of their
    documents (:data:`~gateway.commerce.redaction.FREE_TEXT`): one find per collection."""
    found: dict[str, list[Doc]] = {}
    for collection in dict.fromkeys(c for c in (*WRITTEN, *FREE_TEXT) if c not in BY_ORDER):
        projection = fields(collection) if collection in FREE_TEXT else {"_id": 1}
        found[collection] = await privacy.records_of(
            db, collection, {"member_id": {"$in": cluster}}, projection)
    orders = [d["_id"] for d in found["orders"]]
    for collection in BY_ORDER:
        found[collection] = await privacy.records_of(
            db, collection, {"order_id": {"$in": orders}}, fields(collection))
    return found


def written_ids(found: dict[str, list[Doc]]) -> list[str]:
    """The ids of the results of the person's writes, whose idempotency records hold digests
    of their inputs: the documents of :data:`WRITTEN` and the orders' shipments."""
    return [*(d["_id"] for collection in WRITTEN for d in found[collection]),
            *(s["id"] for order in found["orders"] for s in order.get("shipments", []))]


async def export_member(*, db: Database, settings: Settings, caller: str, member_id: str,
                        idempotency_key: str) -> Once:
    """Record the export of the person's data; the audit entry's id is the result (the
    document itself is read by :func:`export_document`)."""
    validation.idempotency_key(idempotency_key)

    async def work(entry_id: str, resumed: bool) -> None:
        await check_not_done(db, privacy.AUDIT, entry_id, resumed)
        cluster = [d["_id"] for d in await person(db, member_id)]
        await privacy.insert_audit(db, {"_id": entry_id, "action": "EXPORT",
                                        "member_id": cluster[0], "members": cluster,
                                        "by": caller, "at": now()})

    return await run_once(
        db, caller=caller, mutation="exportMember", key=idempotency_key, request=[member_id],
        new_id=new_id("aud_"), work=work, lease_seconds=settings.idempotency_lease_seconds)


async def export_document(db: Database, member_id: str) -> dict[str, list[Doc]]:
    """Every stored document of the person, by collection in :data:`EXPORTED` order: the
    members, then one find per other collection."""
    docs = await person(db, member_id)
    cluster = [d["_id"] for d in docs]
    found: dict[str, list[Doc]] = {"members": docs}
    for collection, field in BY_MEMBER:
        found[collection] = await privacy.records_of(db, collection,
                                                     {field: {"$in": cluster}})
    orders = [d["_id"] for d in found["orders"]]
    for collection in BY_ORDER:
        found[collection] = await privacy.records_of(db, collection,
                                                     {"order_id": {"$in": orders}})
    found["merges"] = await privacy.records_of(db, "merges", {"$or": [
        {"survivor_id": {"$in": cluster}}, {"merged_id": {"$in": cluster}}]})
    found["idempotency"] = await privacy.records_of(
        db, "idempotency", {"result_id": {"$in": cluster + written_ids(found)}})
    return found
