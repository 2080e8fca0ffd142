"""searchMembers (phone, e-mail, name prefix; normalised, scoped, masked, without a side
channel) and one member per phone at enrolment, on both stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import PARTNER_A, SEEDS, WritingGateway, data, fresh_gateway, gql

SEARCH = """query($phone: String, $email: String, $name: String) { searchMembers(phone: $phone,
  email: $email, name: $name, first: 10) { totalCount edges { node { id name phone email } } } }"""
GUO = next(m for m in SEEDS["members"] if m["_id"] == "mem_00003")  # Guo Qiang, +86 131...
ENROL = """mutation($input: EnrolMemberInput!) { enrolMember(input: $input) {
  member { id } userErrors { field code message } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "search"):
        yield gateway


def ids(found: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in found["searchMembers"]["edges"]]


@pytest.mark.parametrize("phone", ["+86 131 7346 4542", "+8613173464542", "0086 131-7346-4542",
                                   "+86 (131) 7346 4542"])
async def test_a_phone_in_any_international_form_finds_its_member(
    gw: WritingGateway, phone: str
) -> None:
    body = await gql(gw.client, SEARCH, {"phone": phone})
    assert body["data"]["searchMembers"] == {"totalCount": "1", "edges": [{"node": {
        "id": "mem_00003", "name": GUO["name"], "phone": GUO["phone"], "email": GUO["email"]}}]}
    # the match, and the count
    assert body["extensions"]["db"] == {"commands": 2, "byCollection": {"members": 2}}


async def test_an_email_in_any_case_and_a_name_prefix_of_any_word(gw: WritingGateway) -> None:
    assert ids(await data(gw.client, SEARCH, {"email": GUO["email"].upper()})) == ["mem_00003"]
    for prefix in ("guo q", "GUO QIANG", "qia"):
        found = ids(await data(gw.client, SEARCH, {"name": prefix}))
        assert "mem_00003" in found, prefix
        assert all(any(word.startswith(prefix.lower().split()[0])
                       for word in next(m for m in SEEDS["members"] if m["_id"] == i)[
                           "name"].lower().split()) for i in found), prefix
    expected = sorted(m["_id"] for m in SEEDS["members"]
                      if any(w.startswith("li") for w in m["name"].lower().split()))
    assert ids(await data(gw.client, SEARCH.replace("first: 10", "first: 100"),
                          {"name": "Li"})) == expected


@pytest.mark.parametrize(("variables", "field"), [
    ({}, "phone"), ({"phone": "+86 131 7346 4542", "email": "a@b.c"}, "phone"),
    ({"phone": "12345"}, "phone"), ({"phone": "not a number"}, "phone"),
    ({"name": "g"}, "name"), ({"email": "x"}, "email"),
])
async def test_a_bad_search_is_bad_user_input(gw: WritingGateway, variables: dict[str, str],
                                              field: str) -> None:
    body = await gql(gw.client, SEARCH, variables)
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("BAD_USER_INPUT", field)]


async def test_a_partner_finds_only_members_it_sees_and_learns_nothing_of_others(
    gw: WritingGateway,
) -> None:
    holders = {i["member_id"] for i in SEEDS["identities"] if i["channel_id"] in PARTNER_A}
    seen = next(m for m in SEEDS["members"] if m["_id"] in holders)
    hidden = next(m for m in SEEDS["members"] if m["_id"] not in holders)
    key = await gw.gateway.key("search-partner", "partner", PARTNER_A)
    async with gw.gateway.client(key) as partner:
        mine = await gql(partner, SEARCH, {"phone": seen["phone"]})
        other = await gql(partner, SEARCH, {"phone": hidden["phone"]})
        unknown = await gql(partner, SEARCH, {"phone": "+86 138 0013 8000"})
        by_name = await gql(partner, SEARCH, {"name": seen["name"]})
    assert mine["data"]["searchMembers"] == {"totalCount": "1", "edges": [{"node": {
        "id": seen["_id"], "name": "***", "phone": "***", "email": "***"}}]}
    # a hidden member's number answers exactly like a number nobody has: data, cost, commands
    assert other["data"] == unknown["data"] == {"searchMembers": {"totalCount": "0",
                                                                  "edges": []}}
    assert other["extensions"]["db"] == unknown["extensions"]["db"] == mine["extensions"][
        "db"] == {"commands": 2, "byCollection": {"identities": 1, "members": 1}}
    assert {k: v for k, v in other["extensions"]["cost"].items() if k != "throttleStatus"} == {
        k: v for k, v in unknown["extensions"]["cost"].items() if k != "throttleStatus"}
    assert [e["extensions"]["code"] for e in by_name["errors"]] == ["FORBIDDEN"]


async def test_enrolling_a_taken_phone_in_another_form_is_refused(gw: WritingGateway) -> None:
    before = await gw.db["members"].count_documents({})
    refused = await data(gw.client, ENROL, {"input": {
        "name": "Someone Else", "homeChannel": "ch_freshmart", "phone": "131 7346 4542",
        "externalId": "FM-NEW-1", "idempotencyKey": "dup-1"}})
    assert refused["enrolMember"] == {"member": None, "userErrors": [{
        "field": "phone", "code": "PHONE_TAKEN",
        "message": "+8613173464542 belongs to member mem_00003: link this channel's identity "
                   "to that member instead (linkIdentity)."}]}
    # nothing was written: no member, no identity, and the key still names the holder
    assert await gw.db["members"].count_documents({}) == before
    assert await gw.db["identities"].find_one({"_id": "ch_freshmart:FM-NEW-1"}) is None
    assert (await gw.db["member_keys"].find_one({"_id": "phone:+8613173464542"}))[
        "member_id"] == "mem_00003"
    # a partner that does not see the holder is not told who it is
    holders = {i["member_id"] for i in SEEDS["identities"] if i["channel_id"] in PARTNER_A}
    hidden = next(m for m in SEEDS["members"] if m["_id"] not in holders)
    key = await gw.gateway.key("enrol-partner", "partner", PARTNER_A)
    async with gw.gateway.client(key) as partner:
        answer = await data(partner, ENROL, {"input": {
            "name": "X", "homeChannel": "ch_us_market", "phone": hidden["phone"],
            "idempotencyKey": "dup-2"}})
    assert answer["enrolMember"]["userErrors"][0]["code"] == "PHONE_TAKEN"
    assert hidden["_id"] not in answer["enrolMember"]["userErrors"][0]["message"]


async def test_a_national_number_is_read_in_the_home_channels_country(
    gw: WritingGateway,
) -> None:
    enrolled = await data(gw.client, ENROL, {"input": {
        "name": "Nur Aisyah", "homeChannel": "ch_my_market", "phone": "012-777 1234",
        "idempotencyKey": "my-1"}})
    member = enrolled["enrolMember"]["member"]["id"]
    assert ids(await data(gw.client, SEARCH, {"phone": "+60 12-777 1234"})) == [member]
    bad = await data(gw.client, ENROL, {"input": {
        "name": "Nobody", "homeChannel": "ch_my_market", "phone": "12345",
        "idempotencyKey": "my-2"}})
    assert [(e["field"], e["code"]) for e in bad["enrolMember"]["userErrors"]] == [
        ("phone", "INVALID")]


async def test_concurrent_enrolments_of_one_phone_make_one_member(gw: WritingGateway) -> None:
    variables = [{"input": {"name": f"Racer {n}", "homeChannel": "ch_flagship",
                            "phone": "+86 139 5555 0101", "idempotencyKey": f"race-{n}"}}
                 for n in range(12)]
    answers = await asyncio.gather(*(data(gw.client, ENROL, v) for v in variables))
    made = [a["enrolMember"]["member"]["id"] for a in answers if a["enrolMember"]["member"]]
    codes = sorted(e["code"] for a in answers for e in a["enrolMember"]["userErrors"])
    assert len(made) == 1 and codes == ["PHONE_TAKEN"] * 11
    assert await gw.db["members"].count_documents({"phone": "+86 139 5555 0101"}) == 1
    assert ids(await data(gw.client, SEARCH, {"phone": "+8613955550101"})) == made
