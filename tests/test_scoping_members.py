"""What a partner sees of member-wide facts, on both stores: points, tier, the points ledger
and merges.

A partner (here of ch_my_market and ch_us_market) sees no value that counts other channels:
``points``, ``tier``, a ledger entry's ``balance``, the points a merge moved and who merged are
null; the ledger lists the entries booked in its channels only; merges list those in effect
that moved one of its identities, with only those identities.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support import PARTNER_A, SEEDS, data, fresh_gateway, gql

SURVIVOR = "mem_00013"  # ch_flagship, ch_miniapp, ch_th_market, ch_us_market
FAR = "mem_00044"  # ch_flagship, ch_miniapp, ch_villagelink (a phone number): none of A's
NEAR = "mem_00022"  # ch_freshmart, ch_us_market, ch_villagelink: one of A's
SKU = "sku_dried_mango_200g"

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id total { minorUnits currencyCode } } userErrors { code message } } }"""
PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id order { member { id name phone email points tier } } }
  userErrors { code message } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(order: $id) { order { status }
  userErrors { code } } }"""
MERGE = """mutation($s: ID!, $m: ID!) { mergeMembers(survivor: $s, merged: $m) {
  merge { id } userErrors { code } } }"""
MEMBER = """query($id: ID!) { member(id: $id) { id name points tier
  pointsLedger(first: 100) { edges { cursor node { id delta reason balance memberId
    order { id } } } pageInfo { endCursor } }
  merges { id survivorId mergedId status movedIdentities movedPoints mergedBy unmergedBy } } }"""


@dataclass
class World:
    admin: httpx.AsyncClient
    partner: httpx.AsyncClient
    ledger: list[dict[str, Any]]  # every ledger entry of the survivor's cluster
    merges: dict[str, str]  # merged member -> merge id


async def order(client: httpx.AsyncClient, *, channel: str, member: str, key: str) -> str:
    placed = await data(client, PLACE, {"input": {
        "channel": channel, "member": member, "idempotencyKey": key,
        "lines": [{"sku": SKU, "quantity": 2}]}})
    assert placed["placeOrder"]["userErrors"] == []
    return str(placed["placeOrder"]["order"]["id"])


async def pay(client: httpx.AsyncClient, order_id: str, key: str) -> dict[str, Any]:
    found = await data(client, "query($id: ID!) { order(id: $id) { total { minorUnits "
                       "currencyCode } } }", {"id": order_id})
    total = found["order"]["total"]
    paid = await data(client, PAY, {"input": {
        "order": order_id, "amount": total["minorUnits"], "currency": total["currencyCode"],
        "method": "CARD", "idempotencyKey": key}})
    assert paid["recordPayment"]["userErrors"] == []
    result: dict[str, Any] = paid["recordPayment"]
    return result


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def world(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[World]:
    async for gw in fresh_gateway(request.param, seeded, "scoping_members"):
        # online orders are served from stock: the US marketplace's bonded warehouse has some
        await gw.db["inventory"].update_one(
            {"_id": f"{SKU}@loc_wh_los_angeles_bonded"},
            {"$set": {"sku": SKU, "location_id": "loc_wh_los_angeles_bonded", "on_hand": 100,
                      "reserved": 0, "holds": []}}, upsert=True)
        key = await gw.gateway.key("members-partner", "partner", PARTNER_A)
        async with gw.gateway.client(key) as partner:
            # points earned and taken back in other channels, before and after the merges
            far = await order(gw.client, channel="ch_flagship", member=FAR, key="far")
            await pay(gw.client, far, "far")
            near = await order(gw.client, channel="ch_us_market", member=NEAR, key="near")
            await pay(gw.client, near, "near")
            merges = {}
            for merged in (FAR, NEAR):
                result = await data(gw.client, MERGE, {"s": SURVIVOR, "m": merged})
                assert result["mergeMembers"]["userErrors"] == []
                merges[merged] = result["mergeMembers"]["merge"]["id"]
            foreign = await order(gw.client, channel="ch_flagship", member=SURVIVOR, key="f")
            await pay(gw.client, foreign, "f")
            assert (await data(gw.client, CANCEL, {"id": foreign}))["cancelOrder"]["order"] == {
                "status": "CANCELLED"}
            mine = await order(gw.client, channel="ch_us_market", member=SURVIVOR, key="m")
            await pay(gw.client, mine, "m")
            ledger = await gw.db["points_ledger"].find(
                {"member_id": {"$in": [SURVIVOR, FAR, NEAR]}}).to_list(None)
            yield World(gw.client, partner, ledger, merges)


def decoded(cursor: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


async def test_points_and_tier_are_null_for_a_partner(world: World) -> None:
    admin = (await data(world.admin, MEMBER, {"id": SURVIVOR}))["member"]
    partner = (await data(world.partner, MEMBER, {"id": SURVIVOR}))["member"]
    assert int(admin["points"]) > 0  # a Long: a decimal string
    assert admin["tier"] in {"BRONZE", "SILVER", "GOLD", "PLATINUM"}
    assert (partner["name"], partner["points"], partner["tier"]) == ("***", None, None)


async def test_the_ledger_lists_the_partners_channels_only(world: World) -> None:
    # given ledger entries of the survivor and both merged members in several channels
    assert {e["channel_id"] for e in world.ledger} == {"ch_flagship", "ch_us_market"}
    # when the partner reads the survivor's ledger
    ledger = (await data(world.partner, MEMBER, {"id": SURVIVOR}))["member"]["pointsLedger"]
    # then it gets exactly the entries booked in its channels, without balances
    mine = sorted((e for e in world.ledger if e["channel_id"] in PARTNER_A),
                  key=lambda e: (e["at"], e["_id"]), reverse=True)
    assert [(e["node"]["id"], e["node"]["delta"], e["node"]["memberId"], e["node"]["balance"])
            for e in ledger["edges"]] == [(e["_id"], str(e["delta"]), e["member_id"], None)
                                          for e in mine]
    assert {e["member_id"] for e in mine} == {SURVIVOR, NEAR}
    # and its cursors name only those entries
    assert [decoded(e["cursor"])[-1] for e in ledger["edges"]] == [e["_id"] for e in mine]
    # while an admin sees every entry of the cluster, with balances
    admin = (await data(world.admin, MEMBER, {"id": SURVIVOR}))["member"]["pointsLedger"]
    assert len(admin["edges"]) == len(world.ledger)
    assert None not in [e["node"]["balance"] for e in admin["edges"]]


async def test_merges_show_a_partner_only_its_identities_and_no_key_name(world: World) -> None:
    partner = (await data(world.partner, MEMBER, {"id": SURVIVOR}))["member"]["merges"]
    moved = sorted(i["_id"] for i in SEEDS["identities"]
                   if i["member_id"] == NEAR and i["channel_id"] in PARTNER_A)
    assert partner == [{
        "id": world.merges[NEAR], "survivorId": SURVIVOR, "mergedId": NEAR, "status": "ACTIVE",
        "movedIdentities": moved, "movedPoints": None, "mergedBy": None, "unmergedBy": None}]
    admin = (await data(world.admin, MEMBER, {"id": SURVIVOR}))["member"]["merges"]
    assert [(m["mergedId"], m["mergedBy"]) for m in admin] == [(FAR, "admin"), (NEAR, "admin")]
    far = next(m for m in admin if m["mergedId"] == FAR)
    assert any(i.startswith("ch_villagelink:+") for i in far["movedIdentities"])


async def test_a_merged_member_is_seen_only_through_a_merge_the_partner_sees(
    world: World,
) -> None:
    query = "query($id: ID!) { member(id: $id) { id } node(id: $id) { id } }"
    assert await data(world.partner, query, {"id": NEAR}) == {
        "member": {"id": SURVIVOR}, "node": {"id": SURVIVOR}}
    assert await data(world.partner, query, {"id": FAR}) == {"member": None, "node": None}
    assert await data(world.admin, query, {"id": FAR}) == {
        "member": {"id": SURVIVOR}, "node": {"id": SURVIVOR}}


async def test_a_partner_cannot_filter_members_by_tier(world: World) -> None:
    query = "{ members(first: 5, filter: {tier: PLATINUM}) { edges { node { id } } } }"
    body = await gql(world.partner, query)
    assert body["data"] is None
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("FORBIDDEN", ["members"])]
    assert (await data(world.admin, query))["members"]["edges"]


async def test_a_partners_write_answers_with_the_member_as_the_partner_sees_it(
    world: World,
) -> None:
    # when the partner pays an order in its channel (the points rule rewrites the member)
    placed = await order(world.partner, channel="ch_us_market", member=SURVIVOR, key="p")
    paid = await pay(world.partner, placed, "p")
    # then the payload's member is masked, without points or tier
    assert paid["payment"]["order"]["member"] == {
        "id": SURVIVOR, "name": "***", "phone": "***", "email": "***", "points": None,
        "tier": None}
    # and the points were earned all the same
    ledger = (await data(world.admin, MEMBER, {"id": SURVIVOR}))["member"]["pointsLedger"]
    assert f"EARN:{placed}" in [e["node"]["id"] for e in ledger["edges"]]
