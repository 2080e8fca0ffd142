"""mergeMembers / unmergeMembers on both stores: the survivor's 360 view includes the merged
member's activity, still batched, and an unmerge restores both members exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import SEEDS, WritingGateway, data, fresh_gateway, gql

MEMBER_360 = """query($id: ID!) { member(id: $id) {
  id name phone email tier points joinedAt homeChannel { id }
  identities { channelId externalId linkedAt source }
  history(first: 100) { edges { cursor node { __typename id at channel { id } } }
                        pageInfo { hasNextPage endCursor } }
  channelSummaries { channel { id } orderCount spend { minorUnits currencyCode }
                     spendBase { minorUnits } visitCount firstActivityAt lastActivityAt }
  lifetimeValue { minorUnits currencyCode }
  pointsLedger(first: 50) { edges { node { id delta } } } } }"""
MERGES = """query($id: ID!) { member(id: $id) { id merges { id survivorId mergedId status
  movedIdentities movedPoints mergedBy unmergedBy } } }"""
MERGE = """mutation($s: ID!, $m: ID!) { mergeMembers(survivor: $s, merged: $m) {
  merge { id survivorId mergedId status movedIdentities movedPoints mergedBy }
  survivor { id } merged { id } userErrors { field code message } } }"""
UNMERGE = """mutation($id: ID!) { unmergeMembers(mergeId: $id) {
  merge { id status unmergedBy } survivor { id } merged { id }
  userErrors { field code message } } }"""
PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id member { id } } userErrors { code } } }"""
A, B = "mem_00021", "mem_00022"


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "merges"):
        yield gateway


async def view(gw: WritingGateway, member_id: str) -> tuple[dict[str, Any], int]:
    body = await gql(gw.client, MEMBER_360, {"id": member_id})
    assert "errors" not in body, body["errors"]
    member: dict[str, Any] = body["data"]["member"]
    return member, body["extensions"]["db"]["commands"]


def seed_member(member_id: str) -> dict[str, Any]:
    return next(m for m in SEEDS["members"] if m["_id"] == member_id)


def lifetime(*member_ids: str) -> int:
    return sum(o["total_base"] for o in SEEDS["orders"]
               if o["member_id"] in member_ids and o["status"] != "CANCELLED")


async def test_merge_then_unmerge_restores_both_members_exactly(gw: WritingGateway) -> None:
    # given the 360 views of two members
    before_a, commands_a = await view(gw, A)
    before_b, _ = await view(gw, B)
    # when B is merged into A
    merged = await data(gw.client, MERGE, {"s": A, "m": B})
    # then the record says what moved
    payload = merged["mergeMembers"]
    merge_id = payload["merge"]["id"]
    assert merge_id.startswith("mrg_")
    assert payload == {
        "merge": {"id": merge_id, "survivorId": A, "mergedId": B, "status": "ACTIVE",
                  "movedIdentities": sorted(i["_id"] for i in SEEDS["identities"]
                                            if i["member_id"] == B),
                  "movedPoints": str(seed_member(B)["points"]), "mergedBy": "admin"},
        "survivor": {"id": A}, "merged": {"id": A}, "userErrors": []}
    # and A's 360 includes B's identities, activity, spend and points, in as many commands
    after_a, commands_after = await view(gw, A)
    assert commands_after == commands_a
    assert after_a["points"] == str(seed_member(A)["points"] + seed_member(B)["points"])
    assert after_a["lifetimeValue"] == {"minorUnits": str(lifetime(A, B)), "currencyCode": "CNY"}
    assert {i["channelId"] + ":" + i["externalId"] for i in after_a["identities"]} == {
        i["_id"] for i in SEEDS["identities"] if i["member_id"] in (A, B)}
    orders = sum(int(s["orderCount"]) for s in after_a["channelSummaries"])
    assert orders == sum(1 for o in SEEDS["orders"]
                         if o["member_id"] in (A, B) and o["status"] != "CANCELLED")
    history_ids = {e["node"]["id"] for e in after_a["history"]["edges"]}
    assert {o["_id"] for o in SEEDS["orders"] if o["member_id"] == B} & history_ids
    # and B's id now answers with A
    as_b, _ = await view(gw, B)
    assert as_b == after_a
    # when the merge is undone (twice: the retry changes nothing)
    undone = await data(gw.client, UNMERGE, {"id": merge_id})
    again = await data(gw.client, UNMERGE, {"id": merge_id})
    assert undone["unmergeMembers"] == {
        "merge": {"id": merge_id, "status": "UNDONE", "unmergedBy": "admin"},
        "survivor": {"id": A}, "merged": {"id": B}, "userErrors": []}
    assert again["unmergeMembers"] == undone["unmergeMembers"]
    # then both 360 views are exactly as before
    assert (await view(gw, A))[0] == before_a
    assert (await view(gw, B))[0] == before_b
    # and both members list the merge in their history of merges
    listed = await data(gw.client, MERGES, {"id": B})
    assert listed["member"] == {"id": B, "merges": [{
        "id": merge_id, "survivorId": A, "mergedId": B, "status": "UNDONE",
        "movedIdentities": payload["merge"]["movedIdentities"],
        "movedPoints": str(seed_member(B)["points"]), "mergedBy": "admin", "unmergedBy": "admin"}]}


async def test_merge_retry_and_conflicts(gw: WritingGateway) -> None:
    first = await data(gw.client, MERGE, {"s": "mem_00030", "m": "mem_00031"})
    retry = await data(gw.client, MERGE, {"s": "mem_00030", "m": "mem_00031"})
    assert retry["mergeMembers"]["merge"] == first["mergeMembers"]["merge"]
    cases = [
        ({"s": "mem_00032", "m": "mem_00031"},
         {"field": "merged", "code": "CONFLICT",
          "message": "mem_00031 was merged into mem_00030."}),
        ({"s": "mem_00031", "m": "mem_00032"},
         {"field": "survivor", "code": "CONFLICT",
          "message": "mem_00031 was merged into mem_00030."}),
        ({"s": "mem_00032", "m": "mem_00030"},
         {"field": "merged", "code": "CONFLICT",
          "message": "mem_00030 holds merged members; unmerge them first."}),
        ({"s": "mem_00032", "m": "mem_00032"},
         {"field": "merged", "code": "INVALID",
          "message": "A member cannot be merged into itself."}),
        ({"s": "mem_00032", "m": "mem_99999"},
         {"field": "merged", "code": "NOT_FOUND", "message": "Unknown member mem_99999."}),
    ]
    for variables, error in cases:
        result = await data(gw.client, MERGE, variables)
        assert result["mergeMembers"]["userErrors"] == [error], variables
    unknown = await data(gw.client, UNMERGE, {"id": "mrg_nothing"})
    assert unknown["unmergeMembers"]["userErrors"] == [
        {"field": "mergeId", "code": "NOT_FOUND", "message": "Unknown merge mrg_nothing."}]


async def test_new_activity_of_a_merged_id_goes_to_the_survivor(gw: WritingGateway) -> None:
    # given mem_00040 merged into mem_00041
    await data(gw.client, MERGE, {"s": "mem_00041", "m": "mem_00040"})
    # when an order is placed for the merged id
    placed = await data(gw.client, PLACE, {"input": {
        "channel": "ch_flagship", "member": "mem_00040", "idempotencyKey": "merged-order",
        "lines": [{"sku": "sku_baby_diapers_m_60", "quantity": 1}]}})
    # then it is the survivor's order
    order = placed["placeOrder"]["order"]
    assert order["member"] == {"id": "mem_00041"}
    doc = await gw.db["orders"].find_one({"_id": order["id"]})
    assert doc["member_id"] == "mem_00041"


async def test_the_member_list_leaves_out_a_merged_member_until_unmerged(
    gw: WritingGateway,
) -> None:
    # given mem_00051, listed like every member
    assert "mem_00051" in await page_ids(gw)
    # when mem_00051 is merged into mem_00050
    merged = await data(gw.client, MERGE, {"s": "mem_00050", "m": "mem_00051"})
    assert merged["mergeMembers"]["userErrors"] == []
    merge_id = merged["mergeMembers"]["merge"]["id"]
    listed = await page_ids(gw)
    # then the list skips it (member(id:) of it gives the survivor)
    assert "mem_00051" not in listed and "mem_00050" in listed
    # and after the unmerge it is listed again
    await data(gw.client, UNMERGE, {"id": merge_id})
    assert "mem_00051" in await page_ids(gw)


async def page_ids(gw: WritingGateway) -> list[str]:
    ids: list[str] = []
    query = """query($after: String) { members(first: 100, after: $after) {
      edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
    after = None
    while True:
        page = (await data(gw.client, query, {"after": after}))["members"]
        ids += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]
