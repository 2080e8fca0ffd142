"""What the tests of an order's life share: mutations, and helpers that place and pay an
order through the API."""

from __future__ import annotations

from typing import Any

from tests.support.gateways import WritingGateway
from tests.support.graphql import data

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id total { minorUnits } } userErrors { field code message } } }"""
PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id status } userErrors { field code message } } }"""
AUTHORIZE = """mutation($input: AuthorizePaymentInput!) { authorizePayment(input: $input) {
  payment { id status order { status paid { minorUnits } authorized { minorUnits } } }
  userErrors { field code message } } }"""
CAPTURE = """mutation($p: ID!, $k: String!) { capturePayment(payment: $p, idempotencyKey: $k) {
  payment { id status capturedAt order { status paid { minorUnits } authorized { minorUnits } } }
  userErrors { field code message } } }"""
VOID = """mutation($p: ID!, $k: String!) { voidPayment(payment: $p, idempotencyKey: $k) {
  payment { id status order { status authorized { minorUnits } } }
  userErrors { field code message } } }"""
REFUND = """mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
  refund { id amount { minorUnits } lines { sku quantity } }
  payment { status refunded { minorUnits } refundable { minorUnits } }
  userErrors { field code message } } }"""
SHIP = """mutation($input: ShipOrderInput!) { shipOrder(input: $input) {
  shipment { id carrier trackingNumber lines { sku quantity } location { id } }
  order { status lines { sku quantity shipped } }
  userErrors { field code message } } }"""
STEP_FIELDS = """order { id status pickup { status code location { id } }
  lines { sku shipped returned } } userErrors { field code message }"""
PREPARE = f"""mutation($o: ID!, $k: String!) {{ preparePickup(order: $o, idempotencyKey: $k) {{
  {STEP_FIELDS} }} }}"""
COLLECT = f"""mutation($o: ID!, $c: String!, $k: String!) {{
  collectOrder(order: $o, code: $c, idempotencyKey: $k) {{ {STEP_FIELDS} }} }}"""
EXPIRE = f"""mutation($o: ID!, $k: String!) {{ expirePickup(order: $o, idempotencyKey: $k) {{
  {STEP_FIELDS} }} }}"""
COMPLETE = f"""mutation($o: ID!, $k: String!) {{ completeOrder(order: $o, idempotencyKey: $k) {{
  {STEP_FIELDS} }} }}"""
RETURN = """mutation($input: ReturnOrderInput!) { returnOrder(input: $input) {
  return { id reason location { id } refunded { minorUnits }
           lines { sku quantity restocked writeOffReason }
           refunds { amount { minorUnits } payment { id status } } }
  order { status refunded { minorUnits } lines { sku shipped returned } }
  userErrors { field code message } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(order: $id) {
  order { status refunded { minorUnits } payments { status refunded { minorUnits } } }
  userErrors { code } } }"""


async def place(gw: WritingGateway, key: str, *, channel: str, member: str,
                lines: list[tuple[str, int]], location: str | None = None) -> tuple[str, int]:
    """Place an order; its id and total."""
    result = await data(gw.client, PLACE, {"input": {
        "channel": channel, "member": member, "location": location, "idempotencyKey": key,
        "lines": [{"sku": sku, "quantity": q} for sku, q in lines]}})
    order = result["placeOrder"]["order"]
    assert order is not None, result
    return order["id"], int(order["total"]["minorUnits"])


async def pay(gw: WritingGateway, order_id: str, amount: int, key: str,
              method: str = "CARD") -> str:
    """Record a captured payment; its id."""
    result = await data(gw.client, PAY, {"input": {
        "order": order_id, "amount": str(amount), "currency": "CNY", "method": method,
        "idempotencyKey": key}})
    payment = result["recordPayment"]["payment"]
    assert payment is not None, result
    return str(payment["id"])


async def level(gw: WritingGateway, sku: str, location: str) -> tuple[int, int]:
    """(on hand, reserved) of a SKU at a location."""
    doc = await gw.db["inventory"].find_one({"_id": f"{sku}@{location}"})
    return (doc["on_hand"], doc["reserved"]) if doc else (0, 0)


def refund_input(payment: str, key: str, **fields: Any) -> dict[str, Any]:
    return {"input": {"payment": payment, "reason": "test", "idempotencyKey": key, **fields}}
