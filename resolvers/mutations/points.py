"""redeemPoints: a member's points pay for an order (gateway/commerce/points.py)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gateway import ids
from gateway.commerce.idempotency import caller_of
from gateway.commerce.points import redeem_points
from gateway.context import Info
from gateway.errors import Rejected
from resolvers.mutations.common import IDEMPOTENCY_KEY, UserError, user_errors
from resolvers.payments import Payment
from resolvers.scalars import Long


@strawberry.input(description="Points that pay (part of) an order.")
class RedeemPointsInput:
    order: strawberry.ID = strawberry.field(
        description="The order (ord_ id): PLACED, with a member, in the caller's channels.")
    points: Long = strawberry.field(
        description="Points to spend, at least 1; each pays OMNIGW_POINT_VALUE_MINOR_UNITS "
        "minor units of the base currency (default 1: 100 points pay 1.00 CNY), converted "
        "at the order's FX snapshot and rounded down.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of redeemPoints.")
class RedeemPointsPayload:
    payment: Payment | None = strawberry.field(
        description="The payment (method POINTS); null when refused.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type
class PointsMutation:
    @strawberry.mutation(
        description="Pay an order with the member's points, exactly once: the balance never "
        "goes below zero whatever the concurrency (INSUFFICIENT_POINTS), payments never "
        "exceed the total (OVERPAYMENT), and the payment that completes it makes the order "
        "PAID. Cancelling the order gives the points back (a REFUND entry of "
        "Member.pointsLedger)."
    )
    async def redeem_points(
        self, info: Info,
        input: Annotated[RedeemPointsInput, strawberry.argument(description="What to pay.")],
    ) -> RedeemPointsPayload:
        ctx = info.context
        try:
            once = await redeem_points(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings, scope=ctx.scope,
                caller=caller_of(ctx.scope, ctx.principal),
                order_id=ids.check(input.order, "ord_", field="order"), points=input.points,
                idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return RedeemPointsPayload(payment=None, user_errors=user_errors(exc))
        doc = await ctx.loaders.payments_by_id.load(once.result_id)
        return RedeemPointsPayload(payment=Payment.from_doc(doc) if doc else None,
                                   user_errors=[])
