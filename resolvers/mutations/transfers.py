"""createTransfer, shipTransfer, receiveTransfer and cancelTransfer (the rules:
``gateway.commerce.transfers``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from gateway import ids
from gateway.commerce import transfers
from gateway.commerce.idempotency import Once, caller_of
from gateway.context import Info
from gateway.errors import Rejected
from resolvers.mutations.common import IDEMPOTENCY_KEY, UserError, user_errors
from resolvers.stock import Transfer, load_transfer

STEP_KEY = ("Makes the step exactly once per key: 1 to 255 characters, unique per caller and "
            "mutation, kept at least 24 hours. A replay returns the same payload and writes "
            "nothing. (A step is also safe to repeat with a new key: a transfer already past "
            "it comes back unchanged.)")


@strawberry.input(description="One line of a new transfer.")
class TransferLineInput:
    sku: strawberry.ID = strawberry.field(description="The product (sku_ id).")
    quantity: int = strawberry.field(
        description="Units to move, 1 to OMNIGW_MAX_STOCK_ADJUSTMENT (default 1,000,000; "
        "beyond it LIMIT_EXCEEDED).")


@strawberry.input(description="A new transfer between two locations.")
class CreateTransferInput:
    source: strawberry.ID = strawberry.field(
        name="from", description="Where the units leave from (loc_ id).")
    destination: strawberry.ID = strawberry.field(
        name="to", description="Where they go (loc_ id), another location.")
    lines: list[TransferLineInput] = strawberry.field(
        description="1 to 50 lines, each SKU once.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY)
    note: str | None = strawberry.field(
        default=None, description="Why, 1 to 200 characters (e.g. a delivery note number).")


@strawberry.type(description="The result of a transfer mutation.")
class TransferPayload:
    transfer: Transfer | None = strawberry.field(
        description="The transfer after the step; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused.")


_TRANSFER = strawberry.argument(description="The transfer (trf_ id).")
_KEY = strawberry.argument(description=STEP_KEY)
Step = Callable[..., Awaitable[Once]]


async def _payload(info: Info, run: Callable[[], Awaitable[Once]]) -> TransferPayload:
    try:
        once = await run()
    except Rejected as exc:
        return TransferPayload(transfer=None, user_errors=user_errors(exc))
    return TransferPayload(transfer=await load_transfer(info, once.result_id), user_errors=[])


async def _step(info: Info, step: Step, transfer: str, idempotency_key: str) -> TransferPayload:
    ctx = info.context
    transfer_id = ids.check(transfer, "trf_", field="transfer")
    return await _payload(info, lambda: step(
        db=ctx.db, loaders=ctx.loaders, settings=ctx.settings, scope=ctx.scope,
        caller=caller_of(ctx.scope, ctx.principal), transfer_id=transfer_id,
        idempotency_key=idempotency_key))


@strawberry.type
class TransferMutation:
    @strawberry.mutation(
        description="Create a transfer exactly once: each line's units are reserved at `from` "
        "(one conditional update per line: if any is short, nothing is reserved or written and "
        "INSUFFICIENT_STOCK names the line) and announced at `to` (StockLevel.incoming). A "
        "partner moves stock only between locations of its channels (another's is NOT_FOUND). "
        "Unknown SKUs give NOT_FOUND; the same location twice INVALID."
    )
    async def create_transfer(
        self, info: Info,
        input: Annotated[CreateTransferInput, strawberry.argument(description="The transfer.")],
    ) -> TransferPayload:
        ctx = info.context

        async def run() -> Once:
            checked = transfers.check_create_transfer(
                source=input.source, destination=input.destination,
                lines=[(line.sku, line.quantity) for line in input.lines], note=input.note,
                idempotency_key=input.idempotency_key,
                max_quantity=ctx.settings.max_stock_adjustment)
            return await transfers.create_transfer(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                caller=caller_of(ctx.scope, ctx.principal), transfer=checked)

        return await _payload(info, run)

    @strawberry.mutation(
        description="Ship a CREATED transfer: it becomes IN_TRANSIT and each line's units leave "
        "`from` (on hand and reserved), exactly once, with a TRANSFER_OUT movement each. A "
        "transfer already shipped comes back unchanged; a cancelled one gives CONFLICT."
    )
    async def ship_transfer(
        self, info: Info, transfer: Annotated[strawberry.ID, _TRANSFER],
        idempotency_key: Annotated[str, _KEY],
    ) -> TransferPayload:
        return await _step(info, transfers.ship_transfer, transfer, idempotency_key)

    @strawberry.mutation(
        description="Receive a transfer IN_TRANSIT: each line's units arrive at `to`, exactly "
        "once however many receipts run at once, with a TRANSFER_IN movement each; then it is "
        "RECEIVED. A received transfer comes back unchanged; one not shipped, or cancelled, "
        "gives CONFLICT; a level that would pass OMNIGW_MAX_STOCK_LEVEL (default "
        "1,000,000,000), LIMIT_EXCEEDED: the lines before it have arrived, the rest wait for "
        "a receipt once there is room."
    )
    async def receive_transfer(
        self, info: Info, transfer: Annotated[strawberry.ID, _TRANSFER],
        idempotency_key: Annotated[str, _KEY],
    ) -> TransferPayload:
        return await _step(info, transfers.receive_transfer, transfer, idempotency_key)

    @strawberry.mutation(
        description="Cancel a CREATED transfer: the units reserved at `from` come back. A "
        "cancelled transfer comes back unchanged; one that has shipped gives CONFLICT."
    )
    async def cancel_transfer(
        self, info: Info, transfer: Annotated[strawberry.ID, _TRANSFER],
        idempotency_key: Annotated[str, _KEY],
    ) -> TransferPayload:
        return await _step(info, transfers.cancel_transfer, transfer, idempotency_key)
