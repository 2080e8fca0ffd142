"""OMNIGW_MAX_STOCK_LEVEL on every write that adds on-hand units (gateway.commerce.stock,
ADDS_UNITS): a write that would take a level past it is refused with LIMIT_EXCEEDED, nothing
of it written (level, movements, order, payments, return, transfer), and a retry answers the
same. The cases are found by walking the movement kinds that add units, so a new kind fails
here until it has one. On the wire server and the embedded store, with a ceiling of 100."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.commerce.stock import ADDS_UNITS
from resolvers.stock import MovementKind
from tests.support import WritingGateway, data, fresh_gateway
from tests.support.orders import RETURN, SHIP, pay, place

CEILING = 100
WAREHOUSE, STORE, OUTLET = "loc_wh_hangzhou", "loc_fm_shanghai_xuhui", "loc_vl_anji"
WIPES, DIAPERS = "sku_baby_wipes_6x80", "sku_baby_diapers_m_60"
A, B = "loc_fm_beijing_chaoyang", "loc_fm_chengdu_jinjiang"  # FreshMart stores
JERKY = "sku_spicy_beef_jerky_150g"
ADJUST = """mutation($sku: ID!, $loc: ID!, $delta: Int!, $expected: Int!) {
  adjustStock(sku: $sku, location: $loc, delta: $delta, reason: "delivery",
              expectedOnHand: $expected) {
    stock { onHand } userErrors { field code message } } }"""
CREATE = """mutation($input: CreateTransferInput!) { createTransfer(input: $input) {
  transfer { id } userErrors { field code message } } }"""
STEP = """mutation($id: ID!, $key: String!) { %sTransfer(transfer: $id, idempotencyKey: $key) {
  transfer { id status } userErrors { field code message } } }"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "stock_ceiling",
                                       max_stock_level=CEILING):
        yield gateway


async def set_stock(gw: WritingGateway, sku: str, location: str, on_hand: int | None) -> None:
    """Set a level, nothing reserved (``None``: the SKU is not stocked there at all)."""
    if on_hand is None:
        await gw.db["inventory"].delete_one({"_id": f"{sku}@{location}"})
        return
    await gw.db["inventory"].update_one({"_id": f"{sku}@{location}"}, {"$set": {
        "sku": sku, "location_id": location, "on_hand": on_hand, "reserved": 0, "holds": []}},
        upsert=True)


async def shipped_order(gw: WritingGateway, key: str, lines: list[tuple[str, int]]) -> str:
    """A flagship order reserved at the warehouse, paid by card and shipped from there."""
    for sku, quantity in lines:
        await set_stock(gw, sku, WAREHOUSE, quantity)
    order_id, total = await place(gw, key, channel="ch_flagship", member="mem_00044",
                                  location=WAREHOUSE, lines=lines)
    await pay(gw, order_id, total, f"{key}-pay")
    shipped = await data(gw.client, SHIP, {"input": {
        "order": order_id, "location": WAREHOUSE, "carrier": "YTO", "trackingNumber": key,
        "idempotencyKey": f"{key}-ship"}})
    assert shipped["shipOrder"]["userErrors"] == [], shipped
    return order_id


def give_back(order_id: str, key: str, lines: list[tuple[str, int]],
              location: str = STORE) -> dict[str, Any]:
    return {"input": {"order": order_id, "location": location, "reason": "changed mind",
                      "idempotencyKey": key,
                      "lines": [{"sku": sku, "quantity": q} for sku, q in lines]}}


@dataclass(frozen=True)
class Case:
    """A write set up to pass the ceiling: the levels it would raise, what else it would
    change, how to send it (its payload) and the field its refusal names."""

    levels: list[tuple[str, str]]
    send: Callable[[], Awaitable[dict[str, Any]]]
    field: str
    order_id: str | None = None
    transfer_id: str | None = None


async def adjustment(gw: WritingGateway) -> Case:
    await set_stock(gw, JERKY, A, CEILING - 1)

    async def send() -> dict[str, Any]:
        body = await data(gw.client, ADJUST, {"sku": JERKY, "loc": A, "delta": 2,
                                              "expected": CEILING - 1})
        payload: dict[str, Any] = body["adjustStock"]
        return payload

    return Case(levels=[(JERKY, A)], send=send, field="delta")


async def transfer_in(gw: WritingGateway) -> Case:
    await set_stock(gw, JERKY, A, 30)
    await set_stock(gw, JERKY, B, CEILING - 1)
    created = await data(gw.client, CREATE, {"input": {
        "from": A, "to": B, "idempotencyKey": "ceiling-transfer", "note": "restock",
        "lines": [{"sku": JERKY, "quantity": 2}]}})
    transfer_id = created["createTransfer"]["transfer"]["id"]
    shipped = await data(gw.client, STEP % "ship", {"id": transfer_id, "key": "ceiling-ship"})
    assert shipped["shipTransfer"]["transfer"]["status"] == "IN_TRANSIT"

    async def send() -> dict[str, Any]:
        body = await data(gw.client, STEP % "receive", {"id": transfer_id,
                                                        "key": "ceiling-receive"})
        payload: dict[str, Any] = body["receiveTransfer"]
        return payload

    return Case(levels=[(JERKY, B)], send=send, field="transfer", transfer_id=transfer_id)


async def return_(gw: WritingGateway) -> Case:
    # two lines: the first fits and is restocked, the second would pass the ceiling, so the
    # first must be taken off the shelf again
    order_id = await shipped_order(gw, "ceiling-return", [(WIPES, 2), (DIAPERS, 2)])
    await set_stock(gw, WIPES, STORE, 10)
    await set_stock(gw, DIAPERS, STORE, CEILING - 1)

    async def send() -> dict[str, Any]:
        body = await data(gw.client, RETURN, give_back(order_id, "ceiling-return-r", [
            (WIPES, 2), (DIAPERS, 2)]))
        payload: dict[str, Any] = body["returnOrder"]
        return payload

    return Case(levels=[(WIPES, STORE), (DIAPERS, STORE)], send=send,
                field="lines.1.quantity", order_id=order_id)


# One case per movement kind that adds on-hand units.
CASES: dict[str, Callable[[WritingGateway], Awaitable[Case]]] = {
    "ADJUSTMENT": adjustment, "TRANSFER_IN": transfer_in, "RETURN": return_,
}


def _order(order: dict[str, Any]) -> dict[str, Any]:
    """An order as the rules read it: return counters never set read 0, no returns []."""
    return {**order, "returned_units": order.get("returned_units", 0),
            "returns": order.get("returns", []),
            "lines": [{**line, "returned": line.get("returned", 0)} for line in order["lines"]]}


def _level(level: dict[str, Any] | None) -> dict[str, Any] | None:
    """A level as the rules read it: no operations applied reads []."""
    return None if level is None else {**level, "ops": level.get("ops", [])}


async def world(gw: WritingGateway, case: Case) -> dict[str, Any]:
    """Everything the write could change."""
    db = gw.db
    state: dict[str, Any] = {}
    for sku, location in case.levels:
        state[f"{sku}@{location}"] = (
            _level(await db["inventory"].find_one({"_id": f"{sku}@{location}"})),
            await db["stock_movements"].find({"sku": sku, "location_id": location},
                                             sort=[("_id", 1)]).to_list(None))
    if case.order_id is not None:
        order = await db["orders"].find_one({"_id": case.order_id})
        member = await db["members"].find_one({"_id": order["member_id"]})
        state["order"] = (_order(order), member, *[
            await db[name].find({"order_id": case.order_id}, sort=[("_id", 1)]).to_list(None)
            for name in ("payments", "returns", "order_events")])
    if case.transfer_id is not None:
        state["transfer"] = await db["transfers"].find_one({"_id": case.transfer_id})
    return state


def test_every_kind_that_adds_units_has_a_case() -> None:
    assert set(ADDS_UNITS) <= {kind.value for kind in MovementKind}
    assert sorted(CASES) == sorted(ADDS_UNITS)


@pytest.mark.parametrize("kind", ADDS_UNITS)
async def test_a_write_past_the_ceiling_is_refused_and_writes_nothing(
    gw: WritingGateway, kind: str,
) -> None:
    # given a write that would take a level past the ceiling
    case = await CASES[kind](gw)
    before = await world(gw, case)
    # when it is sent, and retried
    first = await case.send()
    again = await case.send()
    # then both are refused alike, naming the limit, and nothing changed
    assert [(e["field"], e["code"]) for e in first["userErrors"]] == [
        (case.field, "LIMIT_EXCEEDED")], first
    message = first["userErrors"][0]["message"]
    assert "OMNIGW_MAX_STOCK_LEVEL" in message and str(CEILING) in message, message
    assert again == first
    assert await world(gw, case) == before


async def test_a_refused_return_goes_through_once_there_is_room(gw: WritingGateway) -> None:
    # given a return refused at the ceiling
    order_id = await shipped_order(gw, "room", [(WIPES, 1)])
    await set_stock(gw, WIPES, STORE, CEILING)
    request = give_back(order_id, "room-r", [(WIPES, 1)])
    refused = (await data(gw.client, RETURN, request))["returnOrder"]
    assert refused["userErrors"][0]["code"] == "LIMIT_EXCEEDED"
    # when the shelf has room and the same request is sent again
    await set_stock(gw, WIPES, STORE, CEILING - 1)
    done = (await data(gw.client, RETURN, request))["returnOrder"]
    # then the key was not spent: the unit is restocked, up to the ceiling
    assert done["userErrors"] == []
    assert done["order"]["lines"] == [{"sku": WIPES, "shipped": 1, "returned": 1}]
    level = await gw.db["inventory"].find_one({"_id": f"{WIPES}@{STORE}"})
    assert level["on_hand"] == CEILING


async def test_a_return_past_the_ceiling_creates_no_level(gw: WritingGateway) -> None:
    # given more units than the ceiling, coming back where the SKU was never stocked
    order_id = await shipped_order(gw, "new-level", [(DIAPERS, CEILING + 1)])
    await set_stock(gw, DIAPERS, OUTLET, None)
    result = (await data(gw.client, RETURN, give_back(order_id, "new-level-r", [
        (DIAPERS, CEILING + 1)], location=OUTLET)))["returnOrder"]
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
        ("lines.0.quantity", "LIMIT_EXCEEDED")]
    assert await gw.db["inventory"].find_one({"_id": f"{DIAPERS}@{OUTLET}"}) is None
    assert await gw.db["returns"].count_documents({"order_id": order_id}) == 0


async def test_concurrent_returns_fill_a_level_to_the_ceiling_and_no_further(
    gw: WritingGateway,
) -> None:
    # given 8 shipped orders of one unit each and room for 3 on the store's shelf
    orders = [await shipped_order(gw, f"race-{i}", [(WIPES, 1)]) for i in range(8)]
    await set_stock(gw, WIPES, STORE, CEILING - 3)
    # when all 8 come back at once
    results = await asyncio.gather(*(
        data(gw.client, RETURN, give_back(order_id, f"race-{i}-r", [(WIPES, 1)]))
        for i, order_id in enumerate(orders)))
    # then 3 are taken back and refunded, 5 refused, and the level stops at the ceiling
    codes = sorted(r["returnOrder"]["userErrors"][0]["code"] if r["returnOrder"]["userErrors"]
                   else "RETURNED" for r in results)
    assert codes == ["LIMIT_EXCEEDED"] * 5 + ["RETURNED"] * 3
    level = await gw.db["inventory"].find_one({"_id": f"{WIPES}@{STORE}"})
    assert level["on_hand"] == CEILING
    assert await gw.db["returns"].count_documents({"order_id": {"$in": orders}}) == 3
    refunded = await gw.db["payments"].count_documents(
        {"order_id": {"$in": orders}, "status": "REFUNDED"})
    assert refunded == 3
