"""authorizePayment, capturePayment, voidPayment and refundPayment."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gateway import ids
from gateway.commerce.idempotency import caller_of
from gateway.commerce.settlement import (
    authorize_payment,
    capture_payment,
    refund_payment,
    void_payment,
)
from gateway.context import Info
from gateway.errors import Rejected, reject
from resolvers.mutations.common import IDEMPOTENCY_KEY, KEY, UserError, forget, user_errors
from resolvers.order_events import Refund, load_refund
from resolvers.payments import Payment, PaymentMethod, load_payment
from resolvers.scalars import Long

PAYMENT = Annotated[strawberry.ID, strawberry.argument(description="The payment (pay_ id).")]


@strawberry.input(description="Money held on an order, to be captured or voided later.")
class AuthorizePaymentInput:
    order: strawberry.ID = strawberry.field(description="The order (ord_ id), PLACED or PAID.")
    amount: Long = strawberry.field(
        description="Minor units of `currency`, at least 1; authorised and captured payments "
        "together never exceed the order total (OVERPAYMENT).")
    currency: str = strawberry.field(description="ISO 4217 code; must be the order's.")
    method: PaymentMethod = strawberry.field(description="How it will be paid.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of authorizePayment.")
class AuthorizePaymentPayload:
    payment: Payment | None = strawberry.field(description="The AUTHORIZED payment.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type(description="The result of capturePayment.")
class CapturePaymentPayload:
    payment: Payment | None = strawberry.field(description="The CAPTURED payment.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type(description="The result of voidPayment.")
class VoidPaymentPayload:
    payment: Payment | None = strawberry.field(description="The VOIDED payment.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.input(description="Units of one order line, to refund at the order's price.")
class RefundLineInput:
    sku: strawberry.ID = strawberry.field(description="The product (sku_ id) of a line.")
    quantity: int = strawberry.field(
        description="Units, 1 to the line's quantity (at most OMNIGW_MAX_LINE_QUANTITY).")


@strawberry.input(description="Money back to a captured payment: an amount, the value of some "
                  "lines, or (neither) all that is left.")
class RefundPaymentInput:
    payment: strawberry.ID = strawberry.field(description="The payment (pay_ id).")
    reason: str = strawberry.field(description="Why, 1 to 200 characters.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)
    amount: Long | None = strawberry.field(
        default=None, description="Minor units, at least 1; not with `lines`.")
    lines: list[RefundLineInput] | None = strawberry.field(
        default=None, description="Units of the order's lines, at its prices; not with "
        "`amount`.")
    location: strawberry.ID | None = strawberry.field(
        default=None, description="Where it was asked for (loc_ id), e.g. a store's till.")


@strawberry.type(description="The result of refundPayment.")
class RefundPaymentPayload:
    refund: Refund | None = strawberry.field(description="The refund; null when refused.")
    payment: Payment | None = strawberry.field(description="The payment after it.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


def _currency(value: str) -> str:
    if len(value) != 3 or not value.isalpha():
        raise reject("INVALID", "currency must be an ISO 4217 code.", field="currency")
    return value


@strawberry.type
class SettlementMutation:
    @strawberry.mutation(
        description="Authorise (hold) part or all of an order's total exactly once: a payment "
        "AUTHORIZED, to capture or void later. Held and captured money never exceeds the "
        "total (OVERPAYMENT); another currency is CURRENCY_MISMATCH; a closed order CONFLICT."
    )
    async def authorize_payment(
        self, info: Info,
        input: Annotated[AuthorizePaymentInput, strawberry.argument(description="The hold.")],
    ) -> AuthorizePaymentPayload:
        ctx = info.context
        try:
            once = await authorize_payment(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings, scope=ctx.scope,
                caller=caller_of(ctx.scope, ctx.principal),
                order_id=ids.check(input.order, "ord_", field="order"), amount=input.amount,
                currency=_currency(input.currency), method=input.method.name,
                idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return AuthorizePaymentPayload(payment=None, user_errors=user_errors(exc))
        return AuthorizePaymentPayload(payment=await load_payment(info, once.result_id),
                                       user_errors=[])

    @strawberry.mutation(
        description="Capture an AUTHORIZED payment, once however many requests ask: it counts "
        "as paid, and the capture that completes the total makes the order PAID (and earns "
        "its points). A captured payment is returned unchanged; a voided one is CONFLICT; "
        "another channel's is NOT_FOUND."
    )
    async def capture_payment(self, info: Info, payment: PAYMENT, idempotency_key: KEY
                              ) -> CapturePaymentPayload:
        ctx = info.context
        try:
            payment_id = ids.check(payment, "pay_", field="payment")
            await capture_payment(db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                                  scope=ctx.scope, caller=caller_of(ctx.scope, ctx.principal),
                                  payment_id=payment_id, idempotency_key=idempotency_key)
        except Rejected as exc:
            return CapturePaymentPayload(payment=None, user_errors=user_errors(exc))
        forget(ctx.loaders.payments_by_id, payment_id)
        return CapturePaymentPayload(payment=await load_payment(info, payment_id),
                                     user_errors=[])

    @strawberry.mutation(
        description="Void an AUTHORIZED payment: the held money is released, once. A voided "
        "payment is returned unchanged; a captured one is CONFLICT (refund it instead)."
    )
    async def void_payment(self, info: Info, payment: PAYMENT, idempotency_key: KEY
                           ) -> VoidPaymentPayload:
        ctx = info.context
        try:
            payment_id = ids.check(payment, "pay_", field="payment")
            await void_payment(db=ctx.db, settings=ctx.settings, scope=ctx.scope,
                               caller=caller_of(ctx.scope, ctx.principal),
                               payment_id=payment_id, idempotency_key=idempotency_key)
        except Rejected as exc:
            return VoidPaymentPayload(payment=None, user_errors=user_errors(exc))
        forget(ctx.loaders.payments_by_id, payment_id)
        return VoidPaymentPayload(payment=await load_payment(info, payment_id), user_errors=[])

    @strawberry.mutation(
        description="Refund a captured payment exactly once per key: an amount, the value of "
        "some lines, or all that is left. However many refunds run at once, the sum refunded "
        "never exceeds what was captured (OVERREFUND); at most 100 refunds per payment "
        "(LIMIT_EXCEEDED). Revenue, lifetime value, channel summaries, points and tier are "
        "taken back. Another channel's payment is NOT_FOUND."
    )
    async def refund_payment(
        self, info: Info,
        input: Annotated[RefundPaymentInput, strawberry.argument(description="The refund.")],
    ) -> RefundPaymentPayload:
        ctx = info.context
        try:
            payment_id = ids.check(input.payment, "pay_", field="payment")
            once = await refund_payment(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings, scope=ctx.scope,
                caller=caller_of(ctx.scope, ctx.principal), payment_id=payment_id,
                amount=input.amount,
                lines=[(ids.check(x.sku, "sku_", field=f"lines.{i}.sku"), x.quantity)
                       for i, x in enumerate(input.lines)] if input.lines is not None else None,
                reason=input.reason,
                location_id=ids.check(input.location, "loc_", field="location")
                if input.location else None,
                idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return RefundPaymentPayload(refund=None, payment=None, user_errors=user_errors(exc))
        forget(ctx.loaders.payments_by_id, payment_id)
        return RefundPaymentPayload(refund=await load_refund(info, once.result_id),
                                    payment=await load_payment(info, payment_id),
                                    user_errors=[])
