"""The demo data's member operations: normalised contact data, phone keys, consent histories
and saved segments, added to the generated members with a random stream of their own (so
every other record of the demo stays as it was).

- Every member gets its ``search`` fields (:mod:`gateway.database.contacts`) and, for the
  first member holding each phone, a ``member_keys`` document.
- Consent: in each channel where a member holds an identity, a record when the identity was
  linked (marketing granted 70% of the time, analytics 85%), and for about one in eight such
  channels a later change of mind; the member document carries the consent in force.
- Segments: the brand's (admin) segments and two of the demo partner's.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.database.consents import state_field, state_key
from gateway.database.contacts import e164, phone_key_id, search_fields
from gateway.database.segment_rules import (
    ActiveIn,
    Definition,
    LastActivity,
    Range,
    Rfm,
    Scores,
    Visited,
    Window,
)
from gateway.database.segments import segment_id

Doc = dict[str, Any]
# The demo partner key's channels (gateway.admission.keys.DEMO_PARTNER_CHANNELS).
DEMO_PARTNER_OWNER = "partner:ch_my_market,ch_us_market"
SAVED_AT = datetime(2026, 11, 1, tzinfo=UTC)
_SOURCES = {"ONLINE_SHOP": ("signup form", "app settings"), "SUPERMARKET": ("cashier",
            "loyalty kiosk"), "RURAL_OUTLET": ("agent", "cashier"), "OVERSEAS": ("app settings",)}

ADMIN_SEGMENTS: tuple[tuple[str, str, Definition], ...] = (
    ("Gold and platinum, online and rural, last 90 days", "MARKETING", Definition(
        tiers=("GOLD", "PLATINUM"),
        active_in=ActiveIn(("ONLINE_SHOP", "RURAL_OUTLET"), Window(within_days=90)))),
    ("Champions (RFM 5-5-4+)", "MARKETING", Definition(rfm=Rfm(
        recency=Scores(5, 5), frequency=Scores(5, 5), monetary=Scores(4, 5)))),
    ("Lapsed 30 days", "MARKETING", Definition(last_activity=LastActivity(not_within_days=30))),
    ("High value, 8,000.00 and up", "ANALYTICS", Definition(
        lifetime_value=Range(at_least=800_000))),
    ("Xuhui store visitors", "MARKETING", Definition(
        visited=Visited(("loc_fm_shanghai_xuhui",), Window()))),
    ("Every kind this year", "ANALYTICS", Definition(active_in=ActiveIn(
        ("ONLINE_SHOP", "SUPERMARKET", "RURAL_OUTLET", "OVERSEAS"),
        Window(since=datetime(2026, 1, 1, tzinfo=UTC))))),
    ("Supermarket regulars, autumn", "ANALYTICS", Definition(
        active_in=ActiveIn(("SUPERMARKET",), Window(since=datetime(2026, 9, 1, tzinfo=UTC))),
        rfm=Rfm(frequency=Scores(3, 5)))),
    ("Rural newcomers", "MARKETING", Definition(
        active_in=ActiveIn(("RURAL_OUTLET",), Window(within_days=180)),
        lifetime_value=Range(below=200_000))),
)
PARTNER_SEGMENTS: tuple[tuple[str, str, Definition], ...] = (
    ("Overseas buyers, last 60 days", "MARKETING", Definition(
        active_in=ActiveIn(("OVERSEAS",), Window(within_days=60)))),
    ("Overseas loyal", "ANALYTICS", Definition(rfm=Rfm(frequency=Scores(3, 5)))),
)


def add(data: dict[str, list[Doc]], seed: int) -> None:
    """Add the member operations to ``data`` (in place)."""
    rng = random.Random(f"{seed}:crm")
    country = {c["_id"]: c["country"] for c in data["channels"]}
    kind = {c["_id"]: c["kind"] for c in data["channels"]}
    keys: dict[str, str] = {}
    for member in data["members"]:
        region = country.get(member["home_channel_id"])
        member["search"] = search_fields(name=member["name"], phone=member["phone"],
                                         email=member["email"], region=region)
        normal = e164(member["phone"], region=region) if member["phone"] else None
        if normal is not None:
            keys.setdefault(phone_key_id(normal), member["_id"])
    data["member_keys"] = [{"_id": key, "member_id": member_id, "at": SAVED_AT}
                           for key, member_id in keys.items()]
    data["consents"] = _consents(data, rng, kind)
    data["segments"] = _segments()


def _consents(data: dict[str, list[Doc]], rng: random.Random, kind: dict[str, str]) -> list[Doc]:
    members = {m["_id"]: m for m in data["members"]}
    records: list[Doc] = []
    for identity in sorted(data["identities"], key=lambda i: i["_id"]):
        channel = identity["channel_id"]
        member = members[identity["member_id"]]
        for purpose, odds in (("MARKETING", 0.7), ("ANALYTICS", 0.85)):
            at = identity["linked_at"]
            granted = rng.random() < odds
            records.append(_record(member, channel, purpose, granted, at,
                                   rng.choice(_SOURCES[kind[channel]])))
            if rng.random() < 0.125:  # a change of mind, weeks later
                later = at + timedelta(days=rng.randint(7, 90), seconds=rng.randrange(86_400))
                if later < SAVED_AT:
                    records.append(_record(member, channel, purpose, not granted, later,
                                           "app settings"))
    records.sort(key=lambda r: r["at"])
    for n, record in enumerate(records, start=1):
        record["_id"] = f"cns_{n:07d}"
        member = members[record["member_id"]]
        key = state_key(record["purpose"], record["channel_id"])
        member.setdefault("consent_at", {})[
            state_field(record["purpose"], record["channel_id"])] = record["at"]
        holding: set[str] = set(member.get("consented", []))
        if record["granted"]:
            holding.add(key)
        else:
            holding.discard(key)
        member["consented"] = sorted(holding)
    return records


def _record(member: Doc, channel: str, purpose: str, granted: bool, at: datetime,
            source: str) -> Doc:
    return {"_id": "", "member_id": member["_id"], "channel_id": channel, "purpose": purpose,
            "granted": granted, "source": source, "at": at, "recorded_by": "demo-import"}


def _segments() -> list[Doc]:
    docs = []
    for owner, channels, listed in (("admin", None, ADMIN_SEGMENTS),
                                    (DEMO_PARTNER_OWNER, ["ch_my_market", "ch_us_market"],
                                     PARTNER_SEGMENTS)):
        for name, purpose, definition in listed:
            docs.append({"_id": segment_id(owner, name), "owner": owner, "channels": channels,
                         "name": name, "purpose": purpose, "definition": definition.doc(),
                         "created_at": SAVED_AT, "updated_at": SAVED_AT,
                         "saved_by": "demo-import", "version": 1})
    return docs
