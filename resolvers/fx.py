"""Exchange rates: today's rates (``fxRates``), and the snapshot an order or payment was saved
with (``Order.fx``, ``Payment.fx``). The rules are in gateway/commerce/fx.py."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry

from gateway.clock import utc
from gateway.context import Info
from gateway.database import fx as repo
from resolvers.scalars import Money, money


@strawberry.type(description="Today's exchange rate of one currency to the base currency.")
class FxRate:
    id: strawberry.ID = strawberry.field(
        description="The rate's snapshot id, prefix fx_ (setFxRate starts a new one; a rate "
        "loaded before snapshots had ids is fx_<currency code>).")
    currency_code: str = strawberry.field(description="ISO 4217 code of the currency.")
    base_currency_code: str = strawberry.field(
        description="The base currency (OMNIGW_BASE_CURRENCY) the rate converts to.")
    rate: Decimal = strawberry.field(
        description="Units of the base currency per unit of the currency, exact (\"7.1240\").")
    as_of: datetime = strawberry.field(description="When the rate was set (UTC).")


@strawberry.type(description="The exchange rate a write used and what it made in the base "
                 "currency: fixed when the order or payment was saved, whatever the rate now.")
class FxSnapshot:
    snapshot_id: strawberry.ID | None = strawberry.field(
        description="The rate's snapshot id (fx_); null in the base currency and for writes "
        "made before rates had snapshot ids.")
    rate: Decimal = strawberry.field(
        description="Units of the base currency per unit of the write's currency (1 in the "
        "base currency).")
    base_amount: Money = strawberry.field(
        description="The order total or payment amount in the base currency at that rate, "
        "half to even.")


def snapshot_of(doc: dict[str, Any], base_field: str, base_currency: str) -> FxSnapshot | None:
    """The FX snapshot stored on an order (``total_base``) or payment (``amount_base``); None
    when the document has none."""
    if doc.get("fx_rate") is None or doc.get(base_field) is None:
        return None
    snapshot_id = doc.get("fx_snapshot_id")
    return FxSnapshot(snapshot_id=strawberry.ID(snapshot_id) if snapshot_id else None,
                      rate=Decimal(doc["fx_rate"]),
                      base_amount=money(doc[base_field], base_currency))


def _rate(doc: dict[str, Any], snapshot_id: str, base: str) -> FxRate:
    return FxRate(id=strawberry.ID(snapshot_id), currency_code=doc["currency"],
                  base_currency_code=base, rate=Decimal(doc["rate"]), as_of=utc(doc["as_of"]))


async def load_snapshot(info: Info, snapshot_id: str) -> FxRate | None:
    """One snapshot of the history (what setFxRate wrote)."""
    doc = await repo.snapshot(info.context.db, snapshot_id)
    return None if doc is None else _rate(doc, doc["_id"], doc["base_currency"])


@strawberry.type
class FxQuery:
    @strawberry.field(description="Today's rate of every currency the gateway knows, by "
                      "currency code; orders and payments keep the rate they were saved with "
                      "(Order.fx, Payment.fx).")
    async def fx_rates(self, info: Info) -> list[FxRate]:
        base = info.context.settings.base_currency
        return [_rate(doc, doc.get("snapshot_id") or f"fx_{doc['_id']}", base)
                for doc in await repo.current_rates(info.context.db)]
