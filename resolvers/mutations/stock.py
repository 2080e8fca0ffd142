"""adjustStock."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gateway import ids
from gateway.commerce.idempotency import caller_of
from gateway.commerce.stock import adjust_stock
from gateway.context import Info
from gateway.errors import Rejected
from resolvers.mutations.common import UserError, user_errors
from resolvers.products import StockLevel
from resolvers.stock import StockMovement


@strawberry.type(description="The result of adjustStock.")
class AdjustStockPayload:
    stock: StockLevel | None = strawberry.field(description="The level after the change.")
    movement: StockMovement | None = strawberry.field(description="The audit entry written.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type
class StockMutation:
    @strawberry.mutation(
        description="Add or remove on-hand units (a delivery, a count, damage) as a "
        "compare-and-set: it applies only while on-hand is `expectedOnHand` (else "
        "STOCK_CHANGED, nothing written), never below the reserved units and never past "
        "OMNIGW_MAX_STOCK_LEVEL (LIMIT_EXCEEDED, nothing written). Writes an audit "
        "entry (who, why, before, after). Retrying after success gives STOCK_CHANGED."
    )
    async def adjust_stock(
        self, info: Info,
        sku: Annotated[strawberry.ID, strawberry.argument(description="sku_ id.")],
        location: Annotated[strawberry.ID, strawberry.argument(description="loc_ id.")],
        delta: Annotated[int, strawberry.argument(
            description="Non-zero change of on-hand, at most OMNIGW_MAX_STOCK_ADJUSTMENT "
            "(default 1,000,000) in size; the new level at most OMNIGW_MAX_STOCK_LEVEL "
            "(default 1,000,000,000). Beyond either, LIMIT_EXCEEDED.")],
        reason: Annotated[str, strawberry.argument(description="Why, 1 to 200 characters.")],
        expected_on_hand: Annotated[
            int, strawberry.argument(
                description="The on-hand level the caller last saw, 0 to OMNIGW_MAX_STOCK_LEVEL.")],
    ) -> AdjustStockPayload:
        ctx = info.context
        try:
            after, movement = await adjust_stock(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                caller=caller_of(ctx.scope, ctx.principal),
                sku=ids.check(sku, "sku_", field="sku"),
                location_id=ids.check(location, "loc_", field="location"),
                delta=delta, reason=reason, expected_on_hand=expected_on_hand,
            )
        except Rejected as exc:
            return AdjustStockPayload(stock=None, movement=None, user_errors=user_errors(exc))
        return AdjustStockPayload(
            stock=StockLevel.from_doc(after),
            movement=StockMovement.from_doc(movement),
            user_errors=[],
        )
