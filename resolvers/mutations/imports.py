"""importOrders: offline batches, one result per row."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from gateway import ids
from gateway.clock import utc
from gateway.commerce.idempotency import caller_of
from gateway.commerce.imports import ImportLine, ImportRow, RowResult, import_orders
from gateway.context import Info
from gateway.errors import Rejected
from resolvers.mutations.common import IdentityInput, UserError, user_errors
from resolvers.orders import Order, load_order
from resolvers.payments import PaymentMethod
from resolvers.scalars import Long


@strawberry.input(description="One line of an order sold offline, at the price paid.")
class ImportLineInput:
    sku: strawberry.ID = strawberry.field(description="The product (sku_ id).")
    quantity: int = strawberry.field(
        description="Units, 1 to the per-line ceiling (OMNIGW_MAX_LINE_QUANTITY, default 999; "
        "beyond it LIMIT_EXCEEDED).")
    unit_price: Long = strawberry.field(
        description="Price actually paid per unit, minor units of the channel's currency, 0 "
        "or more. The order may be worth at most OMNIGW_MAX_ORDER_TOTAL_BASE in the base "
        "currency (default 1,000,000.00; beyond it LIMIT_EXCEEDED).")


@strawberry.input(description="One order sold offline.")
class ImportOrderInput:
    external_id: str = strawberry.field(
        description="The till's or outlet's own order id, 1 to 128 characters: the row's "
        "idempotency key (per channel), so re-sending a row never doubles it.")
    lines: list[ImportLineInput] = strawberry.field(description="1 to 50 lines.")
    currency: str = strawberry.field(description="ISO 4217 code; must be the channel's.")
    placed_at: datetime = strawberry.field(description="When it was sold; not in the future.")
    payment_method: PaymentMethod = strawberry.field(
        default=PaymentMethod.CASH, description="How it was paid (default CASH).")
    member: strawberry.ID | None = strawberry.field(
        default=None, description="The buyer (mem_ id), if known.")
    identity: IdentityInput | None = strawberry.field(
        default=None, description="The buyer by channel identity (instead of `member`).")


@strawberry.enum(description="What happened to one imported row.")
class ImportStatus(Enum):
    CREATED = strawberry.enum_value("CREATED", description="A new order was written.")
    DUPLICATE = strawberry.enum_value(
        "DUPLICATE", description="Imported before with the same content: that order.")
    REJECTED = strawberry.enum_value("REJECTED", description="Not imported; see userErrors.")


@strawberry.type(description="The outcome of one row of importOrders.")
class ImportOrderResult:
    index: int = strawberry.field(description="Position of the row in `orders`, 0 to 499.")
    external_id: str = strawberry.field(description="The row's external order id.")
    status: ImportStatus = strawberry.field(description="CREATED, DUPLICATE or REJECTED.")
    user_errors: list[UserError] = strawberry.field(
        description="Why a REJECTED row was refused (code and field).")
    order_id: strawberry.Private[str | None]

    @strawberry.field(description="The order (new or existing); null when rejected.")
    async def order(self, info: Info) -> Order | None:
        return await load_order(info, self.order_id)


@strawberry.type(description="The result of importOrders.")
class ImportOrdersPayload:
    results: list[ImportOrderResult] = strawberry.field(description="One entry per row.")
    created: int = strawberry.field(description="Rows CREATED, 0 to 500.")
    duplicates: int = strawberry.field(description="Rows DUPLICATE, 0 to 500.")
    rejected: int = strawberry.field(description="Rows REJECTED, 0 to 500.")
    user_errors: list[UserError] = strawberry.field(
        description="Why the whole batch was refused (unknown channel, too many rows...).")


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description="Import up to 500 orders sold offline (a till or rural outlet back "
        "online), with the prices actually paid. Rows are independent; each row's external "
        "order id is its idempotency key, so a batch can be re-sent after an interruption "
        "without doubling anything. Each CREATED row is a COMPLETED order with one captured "
        "payment; its units are taken from on-hand stock at the location. A row above the "
        "ceilings (OMNIGW_MAX_LINE_QUANTITY units per line, OMNIGW_MAX_ORDER_TOTAL_BASE per "
        "order) is REJECTED with LIMIT_EXCEEDED. An imported order earns the points of a "
        "paid order, at most OMNIGW_MAX_IMPORT_POINTS (default 10,000)."
    )
    async def import_orders(
        self, info: Info,
        channel: Annotated[strawberry.ID, strawberry.argument(description="ch_ id.")],
        orders: Annotated[list[ImportOrderInput],
                          strawberry.argument(description="1 to 500 orders.")],
        location: Annotated[strawberry.ID | None, strawberry.argument(
            description="The store or outlet (loc_ id); required for supermarkets and rural "
            "outlets.")] = None,
    ) -> ImportOrdersPayload:
        ctx = info.context
        rows = [_row(o, f"orders.{i}") for i, o in enumerate(orders)]
        try:
            results = await import_orders(
                db=ctx.db, loaders=ctx.loaders, settings=ctx.settings,
                caller=caller_of(ctx.scope, ctx.principal),
                channel_id=ids.check(channel, "ch_", field="channel"),
                location_id=ids.check(location, "loc_", field="location")
                if location else None,
                rows=rows,
            )
        except Rejected as exc:
            return ImportOrdersPayload(results=[], created=0, duplicates=0, rejected=0,
                                       user_errors=user_errors(exc))
        return _payload(orders, results)


def _row(o: ImportOrderInput, prefix: str) -> ImportRow:
    """A row with its ids checked: a malformed one refuses the whole call (BAD_USER_INPUT),
    before any row is written."""
    return ImportRow(
        external_id=ids.check_external_id(o.external_id, field=f"{prefix}.externalId"),
        lines=tuple(ImportLine(sku=ids.check(x.sku, "sku_", field=f"{prefix}.lines.{n}.sku"),
                               quantity=x.quantity, unit_price=x.unit_price)
                    for n, x in enumerate(o.lines)),
        currency=o.currency, placed_at=utc(o.placed_at), payment_method=o.payment_method.name,
        member_id=ids.check(o.member, "mem_", field=f"{prefix}.member") if o.member else None,
        identity=(ids.check(o.identity.channel, "ch_", field=f"{prefix}.identity.channel"),
                  ids.check_external_id(o.identity.external_id,
                                        field=f"{prefix}.identity.externalId"))
        if o.identity else None,
    )


def _payload(orders: list[ImportOrderInput], results: list[RowResult]) -> ImportOrdersPayload:
    entries = [
        ImportOrderResult(
            index=i, external_id=o.external_id, status=ImportStatus[r.status],
            user_errors=user_errors(Rejected(*r.errors)),
            order_id=r.order_id)
        for i, (o, r) in enumerate(zip(orders, results, strict=True))
    ]
    count = {s: sum(1 for r in results if r.status == s)
             for s in ("CREATED", "DUPLICATE", "REJECTED")}
    return ImportOrdersPayload(results=entries, created=count["CREATED"],
                               duplicates=count["DUPLICATE"], rejected=count["REJECTED"],
                               user_errors=[])
