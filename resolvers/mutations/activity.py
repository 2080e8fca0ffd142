"""recordPayment and recordVisit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from gateway import ids
from gateway.clock import utc
from gateway.commerce.idempotency import caller_of
from gateway.commerce.payments import record_payment, record_visit
from gateway.context import Info
from gateway.errors import Rejected, reject
from resolvers.mutations.common import IDEMPOTENCY_KEY, IdentityInput, UserError, user_errors
from resolvers.payments import Payment, PaymentMethod
from resolvers.scalars import Long
from resolvers.visits import Visit, VisitKind


@strawberry.input(description="A payment received for an order.")
class RecordPaymentInput:
    order: strawberry.ID = strawberry.field(description="The order paid (ord_ id).")
    amount: Long = strawberry.field(
        description="Amount in minor units of `currency` (cents, fen), at least 1; worth at "
        "most OMNIGW_MAX_ORDER_TOTAL_BASE in the base currency (default 1,000,000.00; beyond "
        "it LIMIT_EXCEEDED).")
    currency: str = strawberry.field(description="ISO 4217 code; must be the order's.")
    method: PaymentMethod = strawberry.field(description="How it was paid.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of recordPayment.")
class RecordPaymentPayload:
    payment: Payment | None = strawberry.field(description="The payment; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.input(description="A visit: a store visit, app session or view.")
class RecordVisitInput:
    channel: strawberry.ID = strawberry.field(description="The channel (ch_ id).")
    kind: VisitKind = strawberry.field(description="What kind of visit.")
    source: str = strawberry.field(description="Where it came from, 1 to 50 characters.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)
    location: strawberry.ID | None = strawberry.field(
        default=None, description="The store or outlet (loc_ id) of the channel.")
    member: strawberry.ID | None = strawberry.field(
        default=None, description="The visitor (mem_ id); none for anonymous traffic.")
    identity: IdentityInput | None = strawberry.field(
        default=None, description="The visitor by channel identity (instead of `member`).")
    at: datetime | None = strawberry.field(
        default=None, description="When it happened (default: now); not in the future.")


@strawberry.type(description="The result of recordVisit.")
class RecordVisitPayload:
    visit: Visit | None = strawberry.field(description="The visit; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type
class ActivityMutation:
    @strawberry.mutation(
        description="Record a captured payment exactly once. Payments never exceed the order "
        "total (OVERPAYMENT) and must be in the order's currency (CURRENCY_MISMATCH); each "
        "stores an FX snapshot. The payment that completes the total makes the order PAID "
        "and earns its loyalty points (see Member.pointsLedger)."
    )
    async def record_payment(
        self, info: Info,
        input: Annotated[RecordPaymentInput, strawberry.argument(description="The payment.")],
    ) -> RecordPaymentPayload:
        ctx = info.context
        try:
            if len(input.currency) != 3 or not input.currency.isalpha():
                raise reject("INVALID", "currency must be an ISO 4217 code.", field="currency")
            if input.method is PaymentMethod.POINTS:
                raise reject("INVALID", "Points pay through redeemPoints.", field="method")
            once = await record_payment(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings, scope=ctx.scope,
                caller=caller_of(ctx.scope, ctx.principal),
                order_id=ids.check(input.order, "ord_", field="order"),
                amount=input.amount, currency=input.currency, method=input.method.name,
                idempotency_key=input.idempotency_key,
            )
        except Rejected as exc:
            return RecordPaymentPayload(payment=None, user_errors=user_errors(exc))
        doc = await ctx.loaders.payments_by_id.load(once.result_id)
        return RecordPaymentPayload(payment=Payment.from_doc(doc) if doc else None,
                                    user_errors=[])

    @strawberry.mutation(description="Record a visit exactly once (anonymous without member).")
    async def record_visit(
        self, info: Info,
        input: Annotated[RecordVisitInput, strawberry.argument(description="The visit.")],
    ) -> RecordVisitPayload:
        ctx = info.context
        try:
            identity = None
            if input.identity is not None:
                identity = (
                    ids.check(input.identity.channel, "ch_", field="identity.channel"),
                    ids.check_external_id(input.identity.external_id,
                                           field="identity.externalId"))
            once = await record_visit(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                caller=caller_of(ctx.scope, ctx.principal),
                channel_id=ids.check(input.channel, "ch_", field="channel"),
                location_id=ids.check(input.location, "loc_", field="location")
                if input.location else None,
                member_id=ids.check(input.member, "mem_", field="member")
                if input.member else None,
                identity=identity, kind=input.kind.name, source=input.source,
                at=utc(input.at) if input.at else None,
                idempotency_key=input.idempotency_key,
            )
        except Rejected as exc:
            return RecordVisitPayload(visit=None, user_errors=user_errors(exc))
        doc = await ctx.loaders.visits_by_id.load(once.result_id)
        return RecordVisitPayload(visit=Visit.from_doc(doc) if doc else None, user_errors=[])
