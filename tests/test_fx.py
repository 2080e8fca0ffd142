"""Exchange rates: fxRates, setFxRate starting a new snapshot, and orders and payments keeping
the rate and base amount they were saved with (gateway/commerce/fx.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest

from tests.support import SEEDS, WritingGateway, data, fresh_gateway, gql

RATES = "{ fxRates { id currencyCode baseCurrencyCode rate } }"
SET = """mutation($input: SetFxRateInput!) { setFxRate(input: $input) {
  fxRate { id currencyCode baseCurrencyCode rate asOf } userErrors { field code message } } }"""
PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id total { minorUnits } } userErrors { code } } }"""
PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id fx { snapshotId rate baseAmount { minorUnits currencyCode } } }
  userErrors { code } } }"""
ORDER = """query($id: ID!) { order(id: $id) { fx { snapshotId rate
  baseAmount { minorUnits currencyCode } } } }"""
BOTTLE = "sku_steel_water_bottle_500ml"


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "fx"):
        yield gateway


def base(cents: int, rate: str) -> str:
    """USD cents in CNY fen at ``rate``, half to even."""
    return str(int((cents * Decimal(rate)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)))


async def us_order(gw: WritingGateway, key: str) -> dict[str, Any]:
    placed = await data(gw.client, PLACE, {"input": {
        "channel": "ch_us_market", "member": "mem_00037", "idempotencyKey": key,
        "lines": [{"sku": BOTTLE, "quantity": 1}]}})
    return placed["placeOrder"]["order"]  # type: ignore[no-any-return]


async def test_fx_rates_lists_todays_rate_of_every_currency(gw: WritingGateway) -> None:
    rates = (await data(gw.client, RATES))["fxRates"]
    assert rates[:4] == [
        {"id": f"fx_{fx['currency'].lower()}_2026_01_01", "currencyCode": fx["currency"],
         "baseCurrencyCode": "CNY", "rate": fx["rate"]}
        for fx in sorted(SEEDS["fx_rates"], key=lambda fx: fx["currency"])]


async def test_a_new_rate_applies_to_new_writes_and_old_ones_keep_theirs(
    gw: WritingGateway,
) -> None:
    # given an order (and its payment) at the seeded rate
    before = await us_order(gw, "fx-before")
    total = int(before["total"]["minorUnits"])
    pay = {"order": before["id"], "amount": str(total), "currency": "USD", "method": "CARD",
           "idempotencyKey": "fx-before"}
    paid_before = (await data(gw.client, PAY, {"input": pay}))["recordPayment"]["payment"]
    old = {"snapshotId": "fx_usd_2026_01_01", "rate": "7.1240",
           "baseAmount": {"minorUnits": base(total, "7.1240"), "currencyCode": "CNY"}}
    assert paid_before["fx"] == old
    # when an admin sets a new USD rate
    answer = await data(gw.client, SET, {"input": {"currency": "USD", "rate": "7.2500",
                                                   "idempotencyKey": "usd-1"}})
    snapshot = answer["setFxRate"]["fxRate"]
    assert answer["setFxRate"]["userErrors"] == []
    assert snapshot["id"].startswith("fx_") and snapshot["rate"] == "7.2500"
    assert {r["currencyCode"]: (r["id"], r["rate"])
            for r in (await data(gw.client, RATES))["fxRates"]}["USD"] == (snapshot["id"],
                                                                           "7.2500")
    # then the old order and payment keep what they were saved with
    assert (await data(gw.client, ORDER, {"id": before["id"]}))["order"]["fx"] == old
    # and a new order is converted at the new snapshot
    after = await us_order(gw, "fx-after")
    assert (await data(gw.client, ORDER, {"id": after["id"]}))["order"]["fx"] == {
        "snapshotId": snapshot["id"], "rate": "7.2500",
        "baseAmount": {"minorUnits": base(int(after["total"]["minorUnits"]), "7.25"),
                       "currencyCode": "CNY"}}
    # a replay answers the same snapshot; the key with another rate is refused
    again = await data(gw.client, SET, {"input": {"currency": "USD", "rate": "7.2500",
                                                  "idempotencyKey": "usd-1"}})
    assert again["setFxRate"]["fxRate"]["id"] == snapshot["id"]
    reused = await data(gw.client, SET, {"input": {"currency": "USD", "rate": "7.3",
                                                   "idempotencyKey": "usd-1"}})
    assert [e["code"] for e in reused["setFxRate"]["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await gw.db["fx_history"].count_documents({"currency": "USD"}) == 2


async def test_a_bad_rate_is_refused_and_nothing_changes(gw: WritingGateway) -> None:
    before = (await data(gw.client, RATES))["fxRates"]
    for n, (currency, rate, field) in enumerate((("CNY", "1.1", "currency"),
                                                 ("US", "7", "currency"),
                                                 ("USD", "-1", "rate"), ("USD", "0", "rate"),
                                                 ("USD", "1000000", "rate"),
                                                 ("USD", "7.123456789", "rate"))):
        body = await data(gw.client, SET, {"input": {"currency": currency, "rate": rate,
                                                     "idempotencyKey": f"bad-{n}"}})
        assert body["setFxRate"]["fxRate"] is None
        assert [(e["field"], e["code"]) for e in body["setFxRate"]["userErrors"]] == [
            (field, "INVALID")], (currency, rate)
    assert (await data(gw.client, RATES))["fxRates"] == before


async def test_set_fx_rate_sends_a_known_number_of_commands(gw: WritingGateway) -> None:
    body = await gql(gw.client, SET, {"input": {"currency": "THB", "rate": "0.2111",
                                                "idempotencyKey": "thb-commands"}})
    # claim; insert the snapshot; make it today's rate; the key DONE; read it for the payload
    assert body["extensions"]["db"] == {"commands": 5, "byCollection": {
        "fx_history": 2, "fx_rates": 1, "idempotency": 2}}
