"""Consent per channel and purpose: a history of records, the consent in force, partner
scope, exactly once, and the commands of each write (segments and exports too)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.database.writes import privacy
from tests.support import PARTNER_A, SEEDS, WritingGateway, data, fresh_gateway, gql

MEMBER = "mem_00003"  # identities in ch_flagship, ch_freshmart, ch_miniapp, ch_my_market, ...
RECORD = """mutation($input: RecordConsentInput!) { recordConsent(input: $input) {
  consent { id purpose granted source recordedBy channel { id } memberId }
  member { id } userErrors { field code message } } }"""
CONSENTS = """query($id: ID!) { member(id: $id) {
  consents { id purpose granted channel { id } }
  consentHistory { id purpose granted source recordedBy channel { id } } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "consent"):
        yield gateway


def seeded_history(member: str, channels: set[str] | None = None) -> list[dict[str, Any]]:
    records = [r for r in SEEDS["consents"] if r["member_id"] == member
               and (channels is None or r["channel_id"] in channels)]
    return sorted(records, key=lambda r: (r["at"], r["_id"]), reverse=True)


async def test_the_seeded_history_and_the_consent_in_force(gw: WritingGateway) -> None:
    found = (await data(gw.client, CONSENTS, {"id": MEMBER}))["member"]
    history = seeded_history(MEMBER)
    assert [r["id"] for r in found["consentHistory"]] == [r["_id"] for r in history]
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for record in reversed(history):
        latest[(record["channel_id"], record["purpose"])] = record
    assert [(c["channel"]["id"], c["purpose"], c["granted"]) for c in found["consents"]] == [
        (k[0], k[1], latest[k]["granted"]) for k in sorted(latest)]


async def test_a_record_becomes_the_consent_in_force_exactly_once(gw: WritingGateway) -> None:
    variables = {"input": {"member": MEMBER, "channel": "ch_flagship", "purpose": "MARKETING",
                           "granted": False, "source": "app settings",
                           "idempotencyKey": "c-1"}}
    first = await gql(gw.client, RECORD, variables)
    replay = await gql(gw.client, RECORD, variables)
    assert first["data"] == replay["data"]
    consent = first["data"]["recordConsent"]["consent"]
    assert {k: v for k, v in consent.items() if k != "id"} == {
        "purpose": "MARKETING", "granted": False, "source": "app settings",
        "recordedBy": "admin", "channel": {"id": "ch_flagship"}, "memberId": MEMBER}
    # claim, the channels, the member, insert the record, update the member's state, DONE;
    # the payload: the member's records (the member comes from the loader's cache)
    assert first["extensions"]["db"] == {"commands": 7, "byCollection": {
        "channels": 1, "consents": 2, "idempotency": 2, "members": 2}}
    found = (await data(gw.client, CONSENTS, {"id": MEMBER}))["member"]
    assert found["consentHistory"][0]["id"] == consent["id"]
    assert {"id": consent["id"], "purpose": "MARKETING", "granted": False,
            "channel": {"id": "ch_flagship"}} in found["consents"]
    member = await gw.db["members"].find_one({"_id": MEMBER})
    assert "MARKETING:ch_flagship" not in member["consented"]
    assert await gw.db["consents"].count_documents({"_id": consent["id"]}) == 1


async def test_a_partner_records_and_reads_consent_in_its_channels_only(
    gw: WritingGateway,
) -> None:
    key = await gw.gateway.key("consent-partner", "partner", PARTNER_A)
    async with gw.gateway.client(key) as partner:
        mine = await data(partner, RECORD, {"input": {
            "member": MEMBER, "channel": "ch_my_market", "purpose": "ANALYTICS",
            "granted": True, "source": "marketplace form", "idempotencyKey": "p-1"}})
        other = await data(partner, RECORD, {"input": {
            "member": MEMBER, "channel": "ch_flagship", "purpose": "ANALYTICS",
            "granted": True, "source": "x", "idempotencyKey": "p-2"}})
        hidden = await data(partner, RECORD, {"input": {
            "member": "mem_00002", "channel": "ch_my_market", "purpose": "ANALYTICS",
            "granted": True, "source": "x", "idempotencyKey": "p-3"}})
        found = (await data(partner, CONSENTS, {"id": MEMBER}))["member"]
    assert mine["recordConsent"]["consent"]["recordedBy"] is None
    assert mine["recordConsent"]["userErrors"] == []
    assert other["recordConsent"]["userErrors"] == [{
        "field": "channel", "code": "NOT_FOUND", "message": "Unknown channel ch_flagship."}]
    assert [e["code"] for e in hidden["recordConsent"]["userErrors"]] == ["NOT_FOUND"]
    assert {c["channel"]["id"] for c in found["consentHistory"]} <= set(PARTNER_A)
    assert all(c["recordedBy"] is None for c in found["consentHistory"])
    assert found["consentHistory"][0]["source"] == "marketplace form"


SAVE = """mutation($input: SaveSegmentInput!) { saveSegment(input: $input) {
  segment { id } userErrors { code } } }"""
DELETE = """mutation($id: ID!) { deleteSegment(segment: $id, idempotencyKey: "cmd-del") {
  deletedId userErrors { code } } }"""
EXPORT = """mutation { exportMember(input: {member: "mem_00004", idempotencyKey: "cmd-x"}) {
  export { id } userErrors { code } } }"""
ENROL = """mutation { enrolMember(input: {name: "Ma Li", homeChannel: "ch_miniapp",
  phone: "+86 139 7777 0000", idempotencyKey: "cmd-e"}) { member { id } userErrors { code } } }"""


async def test_the_commands_of_the_member_writes(gw: WritingGateway) -> None:
    async def commands(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await gql(gw.client, query, variables)
        assert "errors" not in body, body["errors"]
        stats: dict[str, Any] = body["extensions"]["db"]
        return stats

    # saveSegment: claim, upsert (findAndModify), DONE, the payload reads the segment
    saved = await commands(SAVE, {"input": {"name": "cmd", "purpose": "ANALYTICS",
                                            "definition": {}, "idempotencyKey": "cmd-s"}})
    assert saved == {"commands": 4, "byCollection": {"idempotency": 2, "segments": 2}}
    segment = (await gw.db["segments"].find_one({"name": "cmd"}))["_id"]
    # deleteSegment: claim, findAndModify, DONE
    assert await commands(DELETE, {"id": segment}) == {"commands": 3, "byCollection": {
        "idempotency": 2, "segments": 1}}
    # exportMember: claim, the member, the audit entry, DONE; then the payload: the entry,
    # and the document: the member again and one find per other exported collection
    assert await commands(EXPORT) == {"commands": 21, "byCollection": {
        "audit": 3, "consents": 1, "coupon_redemptions": 1, "identities": 1, "idempotency": 3,
        "member_keys": 1, "member_rollups": 1, "members": 2, "merges": 1, "order_events": 1,
        "orders": 1, "payments": 1, "points_ledger": 1, "refunds": 1, "returns": 1,
        "visits": 1}}
    # enrolMember with a phone: claim, channel, phone key, member, ledger entry, DONE
    assert (await commands(ENROL)) == {"commands": 6, "byCollection": {
        "channels": 1, "idempotency": 2, "member_keys": 1, "members": 1, "points_ledger": 1}}


async def test_concurrent_records_leave_the_latest_in_force(gw: WritingGateway) -> None:
    member = "mem_00005"
    variables = [{"input": {"member": member, "channel": "ch_flagship", "purpose": "ANALYTICS",
                            "granted": n % 2 == 0, "source": f"race {n}",
                            "idempotencyKey": f"race-{n}"}} for n in range(20)]
    answers = await asyncio.gather(*(data(gw.client, RECORD, v) for v in variables))
    assert all(a["recordConsent"]["userErrors"] == [] for a in answers)
    found = (await data(gw.client, CONSENTS, {"id": member}))["member"]
    history = [r for r in found["consentHistory"]
               if (r["channel"]["id"], r["purpose"]) == ("ch_flagship", "ANALYTICS")]
    assert {r["source"] for r in history} >= {f"race {n}" for n in range(20)}
    newest = history[0]
    in_force = [c for c in found["consents"]
                if (c["channel"]["id"], c["purpose"]) == ("ch_flagship", "ANALYTICS")]
    assert in_force == [{k: newest[k] for k in ("id", "purpose", "granted", "channel")}]
    # and the state segments match on says the same
    stored = await gw.db["members"].find_one({"_id": member})
    assert ("ANALYTICS:ch_flagship" in stored["consented"]) is newest["granted"]


async def test_of_two_records_at_one_instant_the_greater_id_is_in_force(
    gw: WritingGateway,
) -> None:
    # concurrent records can share a millisecond; the state must pick what the reads pick
    # (time, then id), whichever is applied last
    at, member = datetime(2026, 11, 20, tzinfo=UTC), "mem_00006"
    for record_id, granted in (("cns_b", True), ("cns_a", False)):
        await privacy.apply_consent(gw.db, member_id=member, purpose="ANALYTICS",
                                    channel_id="ch_tie", granted=granted, at=at,
                                    record_id=record_id)
    stored = await gw.db["members"].find_one({"_id": member})
    assert "ANALYTICS:ch_tie" in stored["consented"]
    assert stored["consent_id"]["ANALYTICS:ch_tie"] == "cns_b"
