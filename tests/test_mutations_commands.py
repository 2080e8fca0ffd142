"""The database commands each write sends are bounded and known (counted by the gateway's
command listener and reported in ``extensions.db``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import WritingGateway, fresh_gateway, gql

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id total { minorUnits } } userErrors { code } } }"""
STORE = "loc_fm_shenzhen_nanshan"
SKUS = ["sku_baby_diapers_m_60", "sku_baby_wipes_6x80", "sku_bamboo_chopsticks_10_pairs",
        "sku_bamboo_toothbrush_4pk", "sku_cherry_tomatoes_1kg", "sku_daily_mixed_nuts_30x25g",
        "sku_dianhong_black_tea_200g", "sku_dish_soap_1_5kg", "sku_dried_mango_200g",
        "sku_facial_tissue_18pk"]
ONLINE_SKUS = ["sku_hand_cream_50ml", "sku_hawthorn_rolls_250g", "sku_herbal_shampoo_750ml",
               "sku_jasmine_rice_5kg", "sku_mint_toothpaste_180g", "sku_northeast_rice_10kg",
               "sku_peanut_oil_5l", "sku_pocket_tissues_24pk", "sku_rapeseed_oil_5l",
               "sku_seaweed_snack_12x4g"]


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "commands"):
        yield gateway


async def commands(gw: WritingGateway, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await gql(gw.client, query, variables)
    assert "errors" not in body, body["errors"]
    stats: dict[str, Any] = body["extensions"]["db"]
    return stats


def order(key: str, skus: list[str]) -> dict[str, Any]:
    return {"input": {"channel": "ch_freshmart", "location": STORE, "member": "mem_00012",
                      "lines": [{"sku": s, "quantity": 1} for s in skus],
                      "idempotencyKey": key}}


async def test_place_order_commands_for_1_and_10_lines(gw: WritingGateway) -> None:
    # placeOrder sends, in order:
    #   1 insert        idempotency   claim the key (the unique _id picks one winner)
    #   4 find          channels, locations, products (all SKUs in one $in), members
    #                   (looked up together; no fx_rates read for a base-currency channel)
    #   1 find          campaigns     those that may run in the channel now (promotions)
    #   n update        inventory     one conditional reservation per line
    #   1 update        idempotency   commit the claim (fenced by its token: a request taken
    #                                 over meanwhile writes no order)
    #   1 insert        orders        the order, with its rollup's due entry (the payload is
    #                                 served from the loader cache)
    #   1 update        member_rollups  fold the order into the member's rollup
    #   1 update        orders        remove the due entry (folded)
    #   1 update        idempotency   mark the key DONE with the order id
    # = 11 + n commands: 12 for 1 line, 21 for 10 lines.
    one = await commands(gw, PLACE, order("cmd-1", SKUS[:1]))
    ten = await commands(gw, PLACE, order("cmd-10", SKUS))
    assert one == {"commands": 12, "byCollection": {
        "campaigns": 1, "channels": 1, "idempotency": 3, "inventory": 1, "locations": 1,
        "member_rollups": 1, "members": 1, "orders": 2, "products": 1}}
    assert ten == {"commands": 21, "byCollection": {
        "campaigns": 1, "channels": 1, "idempotency": 3, "inventory": 10, "locations": 1,
        "member_rollups": 1, "members": 1, "orders": 2, "products": 1}}
    # a replay: the claim insert fails, the claim is read, the order is read for the payload
    replay = await commands(gw, PLACE, order("cmd-10", SKUS))
    assert replay == {"commands": 3, "byCollection": {"idempotency": 2, "orders": 1}}


async def test_place_order_online_commands_for_1_and_10_lines(gw: WritingGateway) -> None:
    # placeOrder without a location sends what one at a store sends, but for the location
    # lookup: allocation reads every line's level at every fulfilment location in one find
    #   1 insert        idempotency   claim the key
    #   3 find          channels, products, members
    #   1 find          campaigns     those that may run in the channel now (promotions)
    #   1 find          inventory     the levels allocation chooses from
    #   n update        inventory     one conditional reservation per line, where it chose
    #   1 update        idempotency   commit the claim
    #   1 insert        orders        with its rollup's due entry
    #   1 update        member_rollups, 1 update orders: the rollup folded
    #   1 update        idempotency   DONE
    # = 11 + n commands: 12 for 1 line, 21 for 10 lines.
    for sku in ONLINE_SKUS:
        await gw.db["inventory"].update_one(
            {"_id": f"{sku}@loc_wh_hangzhou"}, {"$set": {
                "sku": sku, "location_id": "loc_wh_hangzhou", "on_hand": 100, "reserved": 0}},
            upsert=True)

    def online(key: str, skus: list[str]) -> dict[str, Any]:
        variables = order(key, skus)
        variables["input"].update(channel="ch_flagship", location=None)
        return variables

    one = await commands(gw, PLACE, online("cmd-o1", ONLINE_SKUS[:1]))
    ten = await commands(gw, PLACE, online("cmd-o10", ONLINE_SKUS))
    assert one == {"commands": 12, "byCollection": {
        "campaigns": 1, "channels": 1, "idempotency": 3, "inventory": 2, "member_rollups": 1,
        "members": 1, "orders": 2, "products": 1}}
    assert ten == {"commands": 21, "byCollection": {
        "campaigns": 1, "channels": 1, "idempotency": 3, "inventory": 11, "member_rollups": 1,
        "members": 1, "orders": 2, "products": 1}}


PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id } userErrors { code } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(order: $id) { order { id } userErrors { code } } }"""
ADJUST = """mutation { adjustStock(sku: "sku_dried_mango_200g", location: "%s", delta: 5,
  reason: "count", expectedOnHand: %d) { stock { onHand } userErrors { code } } }"""
VISIT = """mutation { recordVisit(input: {channel: "ch_flagship", kind: APP_SESSION,
  source: "push", member: "mem_00012", idempotencyKey: "cmd-v"}) {
  visit { id } userErrors { code } } }"""
ENROL = """mutation { enrolMember(input: {name: "Ma Li", homeChannel: "ch_miniapp",
  externalId: "wxo_cmd", idempotencyKey: "cmd-e"}) { member { id } userErrors { code } } }"""
LINK = """mutation { linkIdentity(member: "mem_00012", channel: "ch_th_market",
  externalId: "th_cmd") { identity { externalId } userErrors { code } } }"""
MERGE = """mutation { mergeMembers(survivor: "mem_00013", merged: "mem_00014") {
  merge { id } userErrors { code } } }"""
UNMERGE = """mutation($id: ID!) { unmergeMembers(mergeId: $id) { merge { id }
  userErrors { code } } }"""


async def test_other_mutations_commands(gw: WritingGateway) -> None:
    placed = await gql(gw.client, PLACE, order("cmd-pay", SKUS[:2]))
    order_id = placed["data"]["placeOrder"]["order"]["id"]
    total = int(placed["data"]["placeOrder"]["order"]["total"]["minorUnits"])
    pay = {"order": order_id, "currency": "CNY", "method": "CASH"}
    # recordPayment, part: claim, findAndModify(paid), the claim committed (before the
    # payment, so a request taken over writes none), insert payment, key DONE
    part = await commands(gw, PAY, {"input": {**pay, "amount": "100", "idempotencyKey": "p1"}})
    # recordPayment, the rest: the same, + findAndModify(PAID) + find channels (the points
    # rule) + find member + find member_rollups (lifetime spend for the tier) +
    # findAndModify(points, tier) + insert ledger entry
    rest = await commands(gw, PAY, {"input": {**pay, "amount": str(total - 100),
                                              "idempotencyKey": "p2"}})
    # cancelOrder of a paid order: find the order, findAndModify(status, with the rollup's
    # due entry), fold into the rollup, remove the due entry, release each of 2 lines, then
    # the points go back (find its EARN entry: only what it earned is taken back; find
    # channels, find member, find member_rollups, findAndModify, insert ledger), then its
    # money: find payments, and for each of the 2 payments a refund of what is left
    # (findAndModify payment, update payment status, findAndModify order, update order
    # refunded_base, insert refund, insert event), then insert the event CANCELLED
    cancel = await commands(gw, CANCEL, {"id": order_id})
    level = await gw.db["inventory"].find_one({"_id": f"sku_dried_mango_200g@{STORE}"})
    # adjustStock: find product and location, findAndModify, insert movement
    adjust = await commands(gw, ADJUST % (STORE, level["on_hand"]), {})
    # recordVisit: claim, find channel, find member, insert visit (with its rollup's due
    # entry), fold into the rollup, remove the due entry, key DONE
    visit = await commands(gw, VISIT, {})
    # enrolMember: claim, find channel, insert identity, insert member, insert ledger, DONE
    enrol = await commands(gw, ENROL, {})
    # linkIdentity: find channel, find member, insert identity
    link = await commands(gw, LINK, {})
    # mergeMembers: find both members, find identities, find member_rollups (tier), insert
    # record,
    # update merged, update survivor, update identities, findAndModify record; then the
    # payload reads both members again (one find)
    merge = await commands(gw, MERGE, {})
    merge_id = (await gw.db["merges"].find_one({"survivor_id": "mem_00013"}))["_id"]
    # unmergeMembers: findAndModify record, update identities, update both members,
    # findAndModify record; the payload reads both members (one find)
    unmerge = await commands(gw, UNMERGE, {"id": merge_id})
    counts = {name: stats["commands"] for name, stats in [
        ("part", part), ("rest", rest), ("cancel", cancel), ("adjust", adjust),
        ("visit", visit), ("enrol", enrol), ("link", link), ("merge", merge),
        ("unmerge", unmerge)]}
    assert counts == {"part": 5, "rest": 11, "cancel": 12 + 1 + 2 * 6 + 1, "adjust": 4,
                      "visit": 7, "enrol": 6,
                      "link": 3, "merge": 9, "unmerge": 6}


IMPORT = """mutation($orders: [ImportOrderInput!]!) { importOrders(channel: "ch_freshmart",
  location: "loc_fm_shenzhen_nanshan", orders: $orders) { created userErrors { code } } }"""


async def test_import_orders_commands(gw: WritingGateway) -> None:
    # importOrders sends, per batch: find channels, locations, products (every SKU of the
    # batch), members (every member of the batch); per CREATED row: claim the key, one
    # conditional update per line (on_hand), insert its SALE movements (one command for all
    # lines), commit the claim (fenced by its token: a request taken over meanwhile writes no
    # order), insert order (with its rollup's due entry), insert payment, fold into the
    # rollup, remove the due entry, then the points (find member_rollups for the lifetime
    # spend, findAndModify member, insert ledger entry), key DONE: 4 + rows x (11 + lines).
    # A DUPLICATE row costs 2 (the failed claim and its read).
    rows = [{"externalId": f"cmd-imp-{i}", "currency": "CNY", "member": "mem_00012",
             "placedAt": "2026-10-30T03:00:00Z",
             "lines": [{"sku": SKUS[i], "quantity": 1, "unitPrice": "1000"}]}
            for i in range(2)]
    created = await commands(gw, IMPORT, {"orders": rows})
    again = await commands(gw, IMPORT, {"orders": rows})
    assert (created["commands"], again["commands"]) == (4 + 2 * 12, 4 + 2 * 2)
