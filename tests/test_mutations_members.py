"""enrolMember, linkIdentity, unlinkIdentity and recordVisit on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import SEEDS, WritingGateway, data, fresh_gateway

ENROL = """mutation($input: EnrolMemberInput!) { enrolMember(input: $input) {
  member { id name tier points homeChannel { id }
           identities { channelId externalId source }
           pointsLedger(first: 5) { edges { node { delta reason balance } } } }
  userErrors { field code message } } }"""
LINK = """mutation($m: ID!, $c: ID!, $e: String!) {
  linkIdentity(member: $m, channel: $c, externalId: $e, source: "desk") {
    identity { channelId externalId source } member { id } userErrors { field code message } } }"""
UNLINK = """mutation($c: ID!, $e: String!) { unlinkIdentity(channel: $c, externalId: $e) {
  identity { externalId } member { id } userErrors { field code message } } }"""
VISIT = """mutation($input: RecordVisitInput!) { recordVisit(input: $input) {
  visit { id kind source channel { id } location { id } member { id } }
  userErrors { field code message } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "members"):
        yield gateway


async def test_enrol_member_with_an_identity_once(gw: WritingGateway) -> None:
    # given a new customer at a rural outlet
    variables = {"input": {"name": "Li Wei", "homeChannel": "ch_villagelink",
                           "phone": "+86 138 0000 1111", "externalId": "tel_13800001111",
                           "idempotencyKey": "enrol-1"}}
    members = await gw.db["members"].count_documents({})
    # when they are enrolled, and the request is replayed
    first = await data(gw.client, ENROL, variables)
    again = await data(gw.client, ENROL, variables)
    # then one BRONZE member with the signup bonus and the identity exists
    member = first["enrolMember"]["member"]
    assert member["id"].startswith("mem_")
    assert {k: v for k, v in member.items() if k != "id"} == {
        "name": "Li Wei", "tier": "BRONZE", "points": "100",
        "homeChannel": {"id": "ch_villagelink"},
        "identities": [{"channelId": "ch_villagelink", "externalId": "tel_13800001111",
                        "source": "signup"}],
        "pointsLedger": {"edges": [{"node": {"delta": "100", "reason": "SIGNUP",
                                              "balance": "100"}}]},
    }
    assert again == first
    assert await gw.db["members"].count_documents({}) == members + 1


async def test_enrol_with_a_taken_identity_writes_nothing(gw: WritingGateway) -> None:
    taken = SEEDS["identities"][0]
    members = await gw.db["members"].count_documents({})
    result = await data(gw.client, ENROL, {"input": {
        "name": "Someone", "homeChannel": taken["channel_id"],
        "externalId": taken["external_id"], "idempotencyKey": "enrol-2"}})
    assert result["enrolMember"] == {"member": None, "userErrors": [{
        "field": "externalId", "code": "IDENTITY_TAKEN",
        "message": f"{taken['external_id']} in {taken['channel_id']} belongs to another member."}]}
    assert await gw.db["members"].count_documents({}) == members


@pytest.mark.parametrize(("change", "error"), [
    ({"name": ""}, {"field": "name", "code": "INVALID",
                    "message": "name must be 1 to 100 printable characters."}),
    ({"email": "nope"}, {"field": "email", "code": "INVALID",
                         "message": "email must look like name@domain."}),
    ({"homeChannel": "ch_mars"}, {"field": "homeChannel", "code": "NOT_FOUND",
                                  "message": "Unknown channel ch_mars."}),
])
async def test_enrol_validation(gw: WritingGateway, change: dict[str, str],
                                error: dict[str, str]) -> None:
    variables = {"input": {"name": "Ok", "homeChannel": "ch_flagship",
                           "idempotencyKey": "enrol-bad", **change}}
    result = await data(gw.client, ENROL, variables)
    assert result["enrolMember"] == {"member": None, "userErrors": [error]}


async def test_link_relink_taken_and_unlink(gw: WritingGateway) -> None:
    other = next(i for i in SEEDS["identities"] if i["member_id"] != "mem_00010")
    link = {"m": "mem_00010", "c": "ch_th_market", "e": "th_777"}
    # when an identity is linked twice
    first = await data(gw.client, LINK, link)
    again = await data(gw.client, LINK, link)
    # then both answers show it on the member, and one document exists
    expected = {"identity": {"channelId": "ch_th_market", "externalId": "th_777",
                             "source": "desk"},
                "member": {"id": "mem_00010"}, "userErrors": []}
    assert first["linkIdentity"] == expected
    assert again["linkIdentity"] == expected
    # and an identity held by another member is refused
    taken = await data(gw.client, LINK, {"m": "mem_00010", "c": other["channel_id"],
                                         "e": other["external_id"]})
    assert taken["linkIdentity"]["userErrors"] == [{
        "field": "externalId", "code": "IDENTITY_TAKEN",
        "message": f"{other['external_id']} in {other['channel_id']} belongs to another "
                   "member."}]
    held = await gw.db["identities"].find_one({"_id": other["_id"]})
    assert held["member_id"] == other["member_id"]
    # when it is unlinked twice
    removed = await data(gw.client, UNLINK, {"c": "ch_th_market", "e": "th_777"})
    gone = await data(gw.client, UNLINK, {"c": "ch_th_market", "e": "th_777"})
    assert removed["unlinkIdentity"] == {"identity": {"externalId": "th_777"},
                                         "member": {"id": "mem_00010"}, "userErrors": []}
    assert gone["unlinkIdentity"]["userErrors"] == [{
        "field": "externalId", "code": "NOT_FOUND",
        "message": "No identity th_777 in ch_th_market."}]


async def test_record_visits(gw: WritingGateway) -> None:
    store = "loc_fm_chengdu_jinjiang"
    base = {"channel": "ch_freshmart", "kind": "STORE_VISIT", "source": "walk-in",
            "location": store}
    known = await data(gw.client, VISIT, {"input": {**base, "member": "mem_00011",
                                                    "idempotencyKey": "v-1"}})
    anonymous = await data(gw.client, VISIT, {"input": {**base, "idempotencyKey": "v-2"}})
    elsewhere = await data(gw.client, VISIT, {"input": {**base, "location": "loc_vl_anji",
                                                        "idempotencyKey": "v-3"}})
    future = await data(gw.client, VISIT, {"input": {**base, "at": "2999-01-01T00:00:00Z",
                                                     "idempotencyKey": "v-4"}})
    visit = known["recordVisit"]["visit"]
    assert {k: v for k, v in visit.items() if k != "id"} == {
        "kind": "STORE_VISIT", "source": "walk-in", "channel": {"id": "ch_freshmart"},
        "location": {"id": store}, "member": {"id": "mem_00011"}}
    assert anonymous["recordVisit"]["visit"]["member"] is None
    assert elsewhere["recordVisit"] == {"visit": None, "userErrors": [{
        "field": "location", "code": "INVALID",
        "message": "loc_vl_anji is not a location of ch_freshmart."}]}
    assert future["recordVisit"]["userErrors"] == [{
        "field": "at", "code": "INVALID", "message": "A visit cannot be in the future."}]
