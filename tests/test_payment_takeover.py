"""recordPayment, redeemPoints and authorizePayment when a request stalls past its lease and a
retry takes its payment over (both stores): whichever attempt fails or finds the payment
written, a payment that stands keeps its amount on the order's counter and its points spent,
and nothing is counted or spent twice (gateway.commerce.idempotency, "Fenced work")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.database.writes import orders as order_writes
from tests.support import WritingGateway, data, fresh_gateway, gql
from tests.support.takeover import Stall, lease_runs_out

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id } userErrors { code } } }"""
MEMBER = "mem_00031"
AMOUNT = 100  # minor units; 100 points pay as much (OMNIGW_POINT_VALUE_MINOR_UNITS = 1)
POINTS = 1000


@dataclass(frozen=True)
class Payer:
    """One way of paying: its mutation, its input, and the order counter it grows."""

    mutation: str
    query: str
    counter: str
    spends: bool  # the member's points pay

    def input(self, order_id: str, key: str) -> dict[str, Any]:
        if self.spends:
            return {"input": {"order": order_id, "points": str(AMOUNT), "idempotencyKey": key}}
        return {"input": {"order": order_id, "amount": str(AMOUNT), "currency": "CNY",
                          "method": "CARD", "idempotencyKey": key}}


PAYERS = {payer.mutation: payer for payer in [
    Payer("recordPayment", """mutation($input: RecordPaymentInput!) { recordPayment(
      input: $input) { payment { id } userErrors { code } } }""", "paid", spends=False),
    Payer("redeemPoints", """mutation($input: RedeemPointsInput!) { redeemPoints(
      input: $input) { payment { id } userErrors { code } } }""", "paid", spends=True),
    Payer("authorizePayment", """mutation($input: AuthorizePaymentInput!) { authorizePayment(
      input: $input) { payment { id } userErrors { code } } }""", "authorized", spends=False),
]}


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "payment_takeover"):
        yield gateway


@pytest.fixture(params=list(PAYERS))
def payer(request: pytest.FixtureRequest) -> Payer:
    return PAYERS[request.param]


async def placed(gw: WritingGateway, key: str) -> str:
    """An open order of the member, who holds ``POINTS`` points."""
    await gw.db["members"].update_one({"_id": MEMBER}, {"$set": {"points": POINTS},
                                                         "$unset": {"points_holds": ""}})
    result = await data(gw.client, PLACE, {"input": {
        "channel": "ch_flagship", "member": MEMBER, "idempotencyKey": key,
        "lines": [{"sku": "sku_steel_water_bottle_500ml", "quantity": 2}]}})
    assert result["placeOrder"]["userErrors"] == []
    order_id: str = result["placeOrder"]["order"]["id"]
    return order_id


async def pay(gw: WritingGateway, payer: Payer, order_id: str, key: str) -> dict[str, Any]:
    body: dict[str, Any] = await gql(gw.client, payer.query, payer.input(order_id, key))
    return body


def outcome(body: dict[str, Any], payer: Payer) -> tuple[str | None, list[str]]:
    """The payment answered and the error codes (user errors, or the request's errors)."""
    if body.get("errors"):
        return None, [e["extensions"]["code"] for e in body["errors"]]
    payload = body["data"][payer.mutation]
    return (payload["payment"] or {}).get("id"), [e["code"] for e in payload["userErrors"]]


async def state(gw: WritingGateway, payer: Payer, order_id: str) -> dict[str, Any]:
    """What the payments of an order left: its counter, the payments written, the member's
    points and holds."""
    order = await gw.db["orders"].find_one({"_id": order_id})
    member = await gw.db["members"].find_one({"_id": MEMBER})
    assert order is not None and member is not None
    return {"counted": order.get(payer.counter, 0),
            "payments": await gw.db["payments"].count_documents({"order_id": order_id}),
            "points": member["points"], "holds": len(member.get("points_holds", []))}


def counted(payer: Payer, *, payments: int, holds: int = 0) -> dict[str, Any]:
    """The state with one payment of ``AMOUNT`` counted (``payments`` of them written)."""
    return {"counted": AMOUNT, "payments": payments,
            "points": POINTS - AMOUNT if payer.spends else POINTS,
            "holds": holds if payer.spends else 0}


def payment_inserts(monkeypatch: pytest.MonkeyPatch,
                    *calls: Callable[[], Awaitable[None]]) -> None:
    """The n-th insert of a payment first runs ``calls[n]`` (later ones run as they are)."""
    insert, made = order_writes.insert, []

    async def inserted(db: Any, collection: str, doc: dict[str, Any]) -> None:
        if collection == "payments":
            made.append(doc["_id"])
            if len(made) <= len(calls):
                await calls[len(made) - 1]()
        await insert(db, collection, doc)

    monkeypatch.setattr(order_writes, "insert", inserted)


def fails(stall: Stall) -> Callable[[], Awaitable[None]]:
    """Stalls on ``stall``, then the insert fails."""
    async def stalled_then_down() -> None:
        await stall.at(True)
        raise RuntimeError("payments down")
    return stalled_then_down


async def test_a_stalled_request_that_finds_its_payment_written_by_the_retry_leaves_it_counted(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None, payer: Payer,
) -> None:
    # given a request that counted its payment and stalled just before inserting it, past its
    # lease
    order_id = await placed(gw, f"{payer.mutation}-1")
    stall = Stall()
    payment_inserts(monkeypatch, lambda: stall.at(True))
    stalled = asyncio.create_task(pay(gw, payer, order_id, f"{payer.mutation}-1"))
    await asyncio.wait_for(stall.there.wait(), 10)
    payment_id = await lease_runs_out(gw.db, f"admin:{payer.mutation}:{payer.mutation}-1")
    # when the client's retry takes the payment over and writes it
    retry = await pay(gw, payer, order_id, f"{payer.mutation}-1")
    assert outcome(retry, payer) == (payment_id, [])
    assert await state(gw, payer, order_id) == counted(payer, payments=1)
    # then the stalled request, waking up, finds it written and answers with it
    stall.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    assert outcome(woke, payer) == (payment_id, [])
    # and the payment is still counted, once, its points spent once
    assert await state(gw, payer, order_id) == counted(payer, payments=1)


async def test_a_stalled_request_that_fails_while_the_retry_pays_leaves_the_payment_counted(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None, payer: Payer,
) -> None:
    # given a request that counted its payment and stalled just before inserting it, past its
    # lease, and the client's retry that took the payment over and stalled there too
    order_id = await placed(gw, f"{payer.mutation}-2")
    stalled_first, stalled_retry = Stall(), Stall()
    payment_inserts(monkeypatch, fails(stalled_first), lambda: stalled_retry.at(True))
    stalled = asyncio.create_task(pay(gw, payer, order_id, f"{payer.mutation}-2"))
    await asyncio.wait_for(stalled_first.there.wait(), 10)
    payment_id = await lease_runs_out(gw.db, f"admin:{payer.mutation}:{payer.mutation}-2")
    retry = asyncio.create_task(pay(gw, payer, order_id, f"{payer.mutation}-2"))
    await asyncio.wait_for(stalled_retry.there.wait(), 10)
    # when the stalled request wakes up and fails to insert the payment
    stalled_first.go.set()
    woke = await asyncio.wait_for(stalled, 10)
    assert outcome(woke, payer) == (None, ["INTERNAL"])
    # then it gives nothing back: the retry re-uses what it counted and spent
    assert await state(gw, payer, order_id) == counted(payer, payments=0, holds=1)
    # and the retry writes the payment, counted once, its points spent once
    stalled_retry.go.set()
    assert outcome(await asyncio.wait_for(retry, 10), payer) == (payment_id, [])
    assert await state(gw, payer, order_id) == counted(payer, payments=1)


async def test_a_retry_that_fails_after_a_stalled_request_counted_its_payment_keeps_it_for_it(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None, payer: Payer,
) -> None:
    # given a request that counted its payment and stalled just before inserting it, past its
    # lease
    order_id = await placed(gw, f"{payer.mutation}-3")
    stall, down = Stall(), Stall()
    down.go.set()
    payment_inserts(monkeypatch, lambda: stall.at(True), fails(down))
    stalled = asyncio.create_task(pay(gw, payer, order_id, f"{payer.mutation}-3"))
    await asyncio.wait_for(stall.there.wait(), 10)
    payment_id = await lease_runs_out(gw.db, f"admin:{payer.mutation}:{payer.mutation}-3")
    # when the client's retry takes the payment over and fails to insert it
    retry = await pay(gw, payer, order_id, f"{payer.mutation}-3")
    assert outcome(retry, payer) == (None, ["INTERNAL"])
    # then it gives nothing back: the stalled request may still write the payment
    assert await state(gw, payer, order_id) == counted(payer, payments=0, holds=1)
    # and when the stalled request wakes up, it writes the payment, counted once
    stall.go.set()
    assert outcome(await asyncio.wait_for(stalled, 10), payer) == (payment_id, [])
    assert await state(gw, payer, order_id) == counted(payer, payments=1)
    # and once the failed retry's lease runs out, the payment made again is that payment
    await lease_runs_out(gw.db, f"admin:{payer.mutation}:{payer.mutation}-3")
    again = await pay(gw, payer, order_id, f"{payer.mutation}-3")
    assert outcome(again, payer) == (payment_id, [])
    assert await state(gw, payer, order_id) == counted(payer, payments=1)


async def test_a_retry_of_a_stalled_redemption_of_all_that_is_owed_pays_it(
    gw: WritingGateway, monkeypatch: pytest.MonkeyPatch, stalled_holder: None,
) -> None:
    # given a request that counted points paying all the order owes and stalled just before
    # inserting its payment, past its lease
    payer = PAYERS["redeemPoints"]
    order_id = await placed(gw, "redeem-all")
    order = await gw.db["orders"].find_one({"_id": order_id})
    total = order["total"]
    await gw.db["members"].update_one({"_id": MEMBER}, {"$set": {"points": total}})
    stall = Stall()
    payment_inserts(monkeypatch, lambda: stall.at(True))
    everything = {"input": {"order": order_id, "points": str(total), "idempotencyKey": "all"}}
    stalled = asyncio.create_task(gql(gw.client, payer.query, everything))
    await asyncio.wait_for(stall.there.wait(), 10)
    payment_id = await lease_runs_out(gw.db, "admin:redeemPoints:all")
    # when the client's retry takes the payment over, the order owing nothing more but it
    retry = await gql(gw.client, payer.query, everything)
    # then it pays it (the order counts this payment already), and the stalled request,
    # waking up, answers with it
    assert outcome(retry, payer) == (payment_id, [])
    stall.go.set()
    assert outcome(await asyncio.wait_for(stalled, 10), payer) == (payment_id, [])
    after = await gw.db["orders"].find_one({"_id": order_id})
    assert (after["status"], after["paid"]) == ("PAID", total)
    assert (await gw.db["members"].find_one({"_id": MEMBER}))["points_holds"] == []
