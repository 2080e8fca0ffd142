"""setFxRate: an admin starts a new exchange-rate snapshot."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from gateway.commerce.fx import set_fx_rate
from gateway.commerce.idempotency import caller_of
from gateway.context import Info
from gateway.errors import Rejected
from resolvers.fx import FxRate, load_snapshot
from resolvers.mutations.common import IDEMPOTENCY_KEY, UserError, admin_only, user_errors


@strawberry.input(description="A new rate of one currency to the base currency.")
class SetFxRateInput:
    currency: str = strawberry.field(
        description="ISO 4217 code (three capital letters); not the base currency.")
    rate: Decimal = strawberry.field(
        description="Units of the base currency per unit of `currency`: above 0 and below "
        "1,000,000, at most 12 significant digits and 8 decimal places.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)


@strawberry.type(description="The result of setFxRate.")
class SetFxRatePayload:
    fx_rate: FxRate | None = strawberry.field(
        description="The snapshot just started; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


@strawberry.type
class FxMutation:
    @strawberry.mutation(
        description="Start a new exchange-rate snapshot of a currency exactly once: it is "
        "today's rate from now on (fxRates), for new orders and payments; those written "
        "before keep the rate and base amount they were saved with (Order.fx, Payment.fx). "
        "Needs an admin key (FORBIDDEN otherwise)."
    )
    async def set_fx_rate(
        self, info: Info,
        input: Annotated[SetFxRateInput, strawberry.argument(description="The rate.")],
    ) -> SetFxRatePayload:
        ctx = info.context
        admin_only(ctx.scope, "setFxRate")
        try:
            once = await set_fx_rate(db=ctx.db, settings=ctx.settings,
                                     caller=caller_of(ctx.scope, ctx.principal),
                                     currency=input.currency, rate=input.rate,
                                     idempotency_key=input.idempotency_key)
        except Rejected as exc:
            return SetFxRatePayload(fx_rate=None, user_errors=user_errors(exc))
        return SetFxRatePayload(fx_rate=await load_snapshot(info, once.result_id),
                                user_errors=[])

