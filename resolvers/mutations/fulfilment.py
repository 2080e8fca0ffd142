"""shipOrder, preparePickup, collectOrder, expirePickup, completeOrder and returnOrder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from gateway import ids
from gateway.commerce import fulfilment
from gateway.commerce.idempotency import caller_of
from gateway.commerce.returns import ReturnLine, return_order
from gateway.context import Info
from gateway.errors import Rejected
from resolvers.mutations.common import IDEMPOTENCY_KEY, KEY, UserError, forget, user_errors
from resolvers.order_events import Return, Shipment, load_return
from resolvers.orders import Order, load_order

ORDER = Annotated[strawberry.ID, strawberry.argument(description="The order (ord_ id).")]


@strawberry.input(description="Units of one order line.")
class ShipLineInput:
    sku: strawberry.ID = strawberry.field(description="The product (sku_ id) of a line.")
    quantity: int = strawberry.field(
        description="Units, 1 to what is left to ship of it "
        "(at most the line's quantity, itself at most OMNIGW_MAX_LINE_QUANTITY).")


@strawberry.input(description="A shipment of a paid order.")
class ShipOrderInput:
    order: strawberry.ID = strawberry.field(description="The order (ord_ id), PAID or SHIPPED.")
    location: strawberry.ID = strawberry.field(
        description="Where the goods leave from (loc_ id): the order's reserved location, or "
        "another (a store shipping an online order).")
    carrier: str = strawberry.field(description="The carrier, 1 to 50 characters.")
    tracking_number: str = strawberry.field(description="Its tracking number, 1 to 100.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)
    lines: list[ShipLineInput] | None = strawberry.field(
        default=None, description="The units shipped; default every unit not shipped yet.")


@strawberry.type(description="The result of shipOrder.")
class ShipOrderPayload:
    shipment: Shipment | None = strawberry.field(description="The shipment; null if refused.")
    order: Order | None = strawberry.field(description="The order after it.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type(description="The result of an order step (preparePickup, collectOrder, "
                 "expirePickup, completeOrder).")
class OrderStepPayload:
    order: Order | None = strawberry.field(description="The order after the step.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.input(description="Units of one line coming back.")
class ReturnLineInput:
    sku: strawberry.ID = strawberry.field(description="The product (sku_ id) of a line.")
    quantity: int = strawberry.field(
        description="Units, 1 to those delivered and not returned yet "
        "(at most the line's quantity, itself at most OMNIGW_MAX_LINE_QUANTITY).")
    write_off_reason: str | None = strawberry.field(
        default=None, description="Give a reason (1 to 200 characters) to write the units "
        "off instead of restocking them (damaged, expired).")


@strawberry.input(description="A return of units of a delivered order, at any location.")
class ReturnOrderInput:
    order: strawberry.ID = strawberry.field(
        description="The order (ord_ id), SHIPPED or COMPLETED, of any channel.")
    location: strawberry.ID = strawberry.field(
        description="Where the units come back (loc_ id): any store, outlet or warehouse the "
        "caller may act in; they are restocked there, each level at most "
        "OMNIGW_MAX_STOCK_LEVEL.")
    lines: list[ReturnLineInput] = strawberry.field(description="1 to 50 lines.")
    reason: str = strawberry.field(description="Why, 1 to 200 characters.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of returnOrder.")
class ReturnOrderPayload:
    return_: Return | None = strawberry.field(
        name="return", description="The return, with its refunds; null when refused.")
    order: Order | None = strawberry.field(description="The order after it.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


def _order(order: str) -> str:
    return ids.check(order, "ord_", field="order")


async def _step_payload(info: Info, order_id: str) -> OrderStepPayload:
    forget(info.context.loaders.orders_by_id, order_id)
    return OrderStepPayload(order=await load_order(info, order_id), user_errors=[])


async def _step(info: Info, order: str, rule: Callable[..., Awaitable[Any]], **arguments: Any
                ) -> OrderStepPayload:
    """One order step: ``rule`` run as the caller on the order, its refusal as userErrors,
    else the order after it."""
    ctx = info.context
    try:
        order_id = _order(order)
        await rule(db=ctx.db, settings=ctx.settings, scope=ctx.scope,
                   caller=caller_of(ctx.scope, ctx.principal), order_id=order_id, **arguments)
    except Rejected as exc:
        return OrderStepPayload(order=None, user_errors=user_errors(exc))
    return await _step_payload(info, order_id)


@strawberry.type
class FulfilmentMutation:
    @strawberry.mutation(
        description="Ship units of a paid order exactly once per key, with a carrier and a "
        "tracking number: they leave the location's on-hand stock (and the order's "
        "reservation); the order becomes SHIPPED. INSUFFICIENT_STOCK when the location is "
        "short (nothing changes); CONFLICT when the order is not paid, waits for pick-up or "
        "changed meanwhile; another channel's order is NOT_FOUND."
    )
    async def ship_order(
        self, info: Info,
        input: Annotated[ShipOrderInput, strawberry.argument(description="The shipment.")],
    ) -> ShipOrderPayload:
        ctx = info.context
        try:
            order_id = _order(input.order)
            once = await fulfilment.ship_order(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings, scope=ctx.scope,
                caller=caller_of(ctx.scope, ctx.principal), order_id=order_id,
                location_id=ids.check(input.location, "loc_", field="location"),
                carrier=input.carrier, tracking_number=input.tracking_number,
                lines=[(ids.check(x.sku, "sku_", field=f"lines.{i}.sku"), x.quantity)
                       for i, x in enumerate(input.lines)] if input.lines is not None else None,
                idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return ShipOrderPayload(shipment=None, order=None, user_errors=user_errors(exc))
        step = await _step_payload(info, order_id)
        shipment = next((s for s in step.order.shipments if s.id == once.result_id), None) \
            if step.order else None
        return ShipOrderPayload(shipment=shipment, order=step.order, user_errors=[])

    @strawberry.mutation(
        description="Make an order reserved at a store or outlet ready for pick-up: a 6-digit "
        "collection code, valid OMNIGW_PICKUP_HOLD_HOURS. Once per order; CONFLICT when it "
        "is not reserved at a store or outlet, or not open."
    )
    async def prepare_pickup(self, info: Info, order: ORDER, idempotency_key: KEY
                             ) -> OrderStepPayload:
        return await _step(info, order, fulfilment.prepare_pickup, idempotency_key=idempotency_key)

    @strawberry.mutation(
        description="The buyer collects a paid order ready for pick-up, with its code: the "
        "reserved units leave the shelf and the order is COMPLETED, once. A wrong code is "
        "INVALID (after 5 the pick-up is locked: CONFLICT); an expired or unpaid one CONFLICT."
    )
    async def collect_order(
        self, info: Info, order: ORDER,
        code: Annotated[str, strawberry.argument(description="The collection code shown.")],
        idempotency_key: KEY,
    ) -> OrderStepPayload:
        return await _step(info, order, fulfilment.collect_order, code=code,
                           idempotency_key=idempotency_key)

    @strawberry.mutation(
        description="Cancel an order whose pick-up time ran out: its reservation is released, "
        "its payments voided or refunded, once. CONFLICT before expiresAt."
    )
    async def expire_pickup(self, info: Info, order: ORDER, idempotency_key: KEY
                            ) -> OrderStepPayload:
        return await _step(info, order, fulfilment.expire_pickup, loaders=info.context.loaders,
                           idempotency_key=idempotency_key)

    @strawberry.mutation(
        description="Mark a shipped order delivered: COMPLETED once every unit shipped "
        "(CONFLICT before). A completed order is returned unchanged."
    )
    async def complete_order(self, info: Info, order: ORDER, idempotency_key: KEY
                             ) -> OrderStepPayload:
        return await _step(info, order, fulfilment.complete_order, idempotency_key=idempotency_key)

    @strawberry.mutation(
        description="Take units of a delivered order back at any location, exactly once per "
        "key: restocked there (or written off), refunded to the original payments; revenue, "
        "lifetime value, channel summaries, points and tier are taken back. The caller must "
        "see the order's channel and the location's (else NOT_FOUND); more units than "
        "delivered and not returned are INVALID; a line whose restock would take the "
        "location's level past OMNIGW_MAX_STOCK_LEVEL (default 1,000,000,000) is "
        "LIMIT_EXCEEDED, and nothing of the return is written."
    )
    async def return_order(
        self, info: Info,
        input: Annotated[ReturnOrderInput, strawberry.argument(description="The return.")],
    ) -> ReturnOrderPayload:
        ctx = info.context
        try:
            order_id = _order(input.order)
            once = await return_order(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings, scope=ctx.scope,
                caller=caller_of(ctx.scope, ctx.principal), order_id=order_id,
                location_id=ids.check(input.location, "loc_", field="location"),
                lines=[ReturnLine(sku=ids.check(x.sku, "sku_", field=f"lines.{i}.sku"),
                                  quantity=x.quantity, write_off_reason=x.write_off_reason)
                       for i, x in enumerate(input.lines)],
                reason=input.reason, idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return ReturnOrderPayload(return_=None, order=None, user_errors=user_errors(exc))
        step = await _step_payload(info, order_id)
        return ReturnOrderPayload(return_=await load_return(info, once.result_id),
                                  order=step.order, user_errors=[])
