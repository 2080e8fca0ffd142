"""placeOrder and cancelOrder."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gateway import ids
from gateway.commerce.idempotency import caller_of
from gateway.commerce.orders import cancel_order, check_place_order, place_order
from gateway.context import Info
from gateway.errors import Rejected
from resolvers.mutations.common import IDEMPOTENCY_KEY, IdentityInput, UserError, user_errors
from resolvers.orders import Order, load_order


@strawberry.input(description="One line of a new order.")
class OrderLineInput:
    sku: strawberry.ID = strawberry.field(description="The product (sku_ id).")
    quantity: int = strawberry.field(
        description="Units, 1 to the per-line ceiling (OMNIGW_MAX_LINE_QUANTITY, default 999; "
        "beyond it LIMIT_EXCEEDED).")


@strawberry.input(
    description="A new order. Prices come from each product's offer in the channel (which must "
    "be available), then the campaigns running in the channel take their discounts "
    "(PromotionRule says how they combine); totals are computed by the server in the "
    "channel's currency, with an FX snapshot to the base currency."
)
class PlaceOrderInput:
    channel: strawberry.ID = strawberry.field(description="The channel (ch_ id).")
    lines: list[OrderLineInput] = strawberry.field(
        description="1 to 50 lines, each SKU once.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)
    location: strawberry.ID | None = strawberry.field(
        default=None,
        description="The store, outlet or warehouse (loc_ id) of the channel; required for "
        "supermarket and rural-outlet channels. Each line's stock there is reserved.")
    member: strawberry.ID | None = strawberry.field(
        default=None, description="The buyer (mem_ id); a merged id stands for its survivor.")
    identity: IdentityInput | None = strawberry.field(
        default=None, description="The buyer by channel identity (instead of `member`).")
    coupon: str | None = strawberry.field(
        default=None, description="A coupon code (any case): its campaign must run in the "
        "channel now and give a discount on the order (COUPON_NOT_APPLICABLE), and a use must "
        "be left (COUPON_EXHAUSTED); the use is taken exactly once, and given back if the "
        "order is refused or cancelled.")


@strawberry.type(description="The result of placeOrder.")
class PlaceOrderPayload:
    order: Order | None = strawberry.field(description="The order; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type(description="The result of cancelOrder.")
class CancelOrderPayload:
    order: Order | None = strawberry.field(description="The cancelled order.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Place an order exactly once. At a location, each line reserves stock "
        "with one conditional update; if any line is short, nothing is reserved or written "
        "and INSUFFICIENT_STOCK names the line. Unknown channel, location, SKU or member give "
        "NOT_FOUND; bad values INVALID; a line above OMNIGW_MAX_LINE_QUANTITY units, or an "
        "order worth more than OMNIGW_MAX_ORDER_TOTAL_BASE in the base currency, "
        "LIMIT_EXCEEDED."
    )
    async def place_order(
        self, info: Info,
        input: Annotated[PlaceOrderInput, strawberry.argument(description="The order.")],
    ) -> PlaceOrderPayload:
        ctx = info.context
        try:
            order = check_place_order(
                channel=input.channel, location=input.location, member=input.member,
                identity=(input.identity.channel, input.identity.external_id)
                if input.identity else None,
                lines=[(line.sku, line.quantity) for line in input.lines],
                idempotency_key=input.idempotency_key,
                max_quantity=ctx.settings.max_line_quantity, coupon=input.coupon,
            )
            once = await place_order(db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                                     caller=caller_of(ctx.scope, ctx.principal), order=order)
        except Rejected as exc:
            return PlaceOrderPayload(order=None, user_errors=user_errors(exc))
        return PlaceOrderPayload(order=await load_order(info, once.result_id), user_errors=[])

    @strawberry.mutation(
        description="Cancel an order that has not shipped (PLACED or PAID): its reserved "
        "stock is released, points earned by it are taken back, points spent on it given "
        "back and its coupon's use released. Cancelling a cancelled "
        "order returns it unchanged; a shipped or completed one gives CONFLICT."
    )
    async def cancel_order(
        self, info: Info,
        order: Annotated[strawberry.ID, strawberry.argument(description="ord_ id.")],
    ) -> CancelOrderPayload:
        ctx = info.context
        try:
            order_id = ids.check(order, "ord_", field="order")
            await cancel_order(db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                               scope=ctx.scope, order_id=order_id,
                               caller=caller_of(ctx.scope, ctx.principal))
        except Rejected as exc:
            return CancelOrderPayload(order=None, user_errors=user_errors(exc))
        return CancelOrderPayload(order=await load_order(info, order_id), user_errors=[])
