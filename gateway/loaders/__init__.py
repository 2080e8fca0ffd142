"""The request's DataLoaders: one :class:`Loaders` per request, each loader built the first
time a field asks for it, and defined in its domain's module:

- :mod:`~gateway.loaders.channels`: channels, locations, today's exchange rates;
- :mod:`~gateway.loaders.products`: products and stock levels;
- :mod:`~gateway.loaders.stock`: availability of offers, a location's levels, movements,
  transfers;
- :mod:`~gateway.loaders.members`: members, identities, merges, the points ledger, the
  per-channel summaries, and the member *cluster* their activity is keyed by;
- :mod:`~gateway.loaders.activity`: orders, payments and visits by id, payments by order;
- :mod:`~gateway.loaders.lifecycle`: order events, refunds and returns, a payment's refunds,
  an order's events;
- :mod:`~gateway.loaders.timeline`: a member's history, merged into one timeline;
- :mod:`~gateway.loaders.analytics`: the series and tables of the analytics fields;
- :mod:`~gateway.loaders.campaigns`: campaigns, and their results.

Each batch sends one query for all the keys of a tick (:mod:`~gateway.loaders.batch`), inside
a span and with its size counted (``omnigw_dataloader_batch_size``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar, overload

from strawberry.dataloader import DataLoader

from gateway.database import Database
from gateway.database.query import Doc
from gateway.database.scope import ADMIN, Scope
from gateway.loaders import (
    activity,
    analytics,
    campaigns,
    channels,
    lifecycle,
    members,
    products,
    segments,
    stock,
    timeline,
)
from gateway.telemetry import metrics, tracing

K = TypeVar("K")
V = TypeVar("V")


class Lazy(Generic[K, V]):
    """A loader of :class:`Loaders`, built by ``build`` on first use, then kept."""

    def __init__(self, build: Callable[[Loaders], DataLoader[K, V]]) -> None:
        self.build = build
        self.name = build.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Lazy[K, V]: ...

    @overload
    def __get__(self, instance: Loaders, owner: type) -> DataLoader[K, V]: ...

    def __get__(self, instance: Loaders | None, owner: type) -> Any:
        if instance is None:
            return self
        loader = self.build(instance)
        instance.observe(self.name, loader)
        instance.__dict__[self.name] = loader  # later reads find it without the descriptor
        return loader


class Loaders:
    """One request's loaders, bound to its database and scope."""

    channels_by_id = Lazy(channels.channels_by_id)
    locations_by_id = Lazy(channels.locations_by_id)
    locations_by_channel = Lazy(channels.locations_by_channel)
    fx_rates = Lazy(channels.fx_rates)
    products_by_sku = Lazy(products.products_by_sku)
    stock_by_sku_location = Lazy(products.stock_by_sku_location)
    availability_by_offer = Lazy(stock.availability_by_offer)
    inventory_by_location = Lazy(stock.inventory_by_location)
    movements_by_location = Lazy(stock.movements_by_location)
    movements_by_sku = Lazy(stock.movements_by_sku)
    movements_by_id = Lazy(stock.movements_by_id)
    transfers_by_id = Lazy(stock.transfers_by_id)
    members_by_id = Lazy(members.members_by_id)
    members_for_rules = Lazy(members.members_for_rules)
    identities_by_id = Lazy(members.identities_by_id)
    identities_by_member = Lazy(members.identities_by_member)
    merges_by_member = Lazy(members.merges_by_member)
    ledger_by_member = Lazy(members.ledger_by_member)
    summaries_by_member = Lazy(members.summaries_by_member)
    consents_by_member = Lazy(members.consents_by_member)
    orders_by_id = Lazy(activity.orders_by_id)
    payments_by_id = Lazy(activity.payments_by_id)
    visits_by_id = Lazy(activity.visits_by_id)
    payments_by_order = Lazy(activity.payments_by_order)
    events_by_id = Lazy(lifecycle.events_by_id)
    refunds_by_id = Lazy(lifecycle.refunds_by_id)
    returns_by_id = Lazy(lifecycle.returns_by_id)
    refunds_by_payment = Lazy(lifecycle.refunds_by_payment)
    events_by_order = Lazy(lifecycle.events_by_order)
    history_by_member = Lazy(timeline.history_by_member)
    footfall_by_location = Lazy(analytics.footfall_by_location)
    sales_by_channel = Lazy(analytics.sales_by_channel)
    top_products_by_channel = Lazy(analytics.top_products_by_channel)
    conversion_by_channel = Lazy(analytics.conversion_by_channel)
    segments_by_id = Lazy(segments.segments_by_id)
    segment_answers = Lazy(segments.segment_answers)
    campaigns_by_id = Lazy(campaigns.campaigns_by_id)
    results_by_campaign = Lazy(campaigns.results_by_campaign)

    def __init__(self, db: Database, scope: Scope = ADMIN) -> None:
        self.db = db
        self.scope = scope
        self._observed: set[int] = set()
        self.every_channel_task: asyncio.Future[list[Doc]] | None = None

    def channel_list(self) -> Awaitable[list[Doc]]:
        """Every channel the caller sees, in id order (one command per request, shared with
        ``channels_by_id``)."""
        return channels.every_channel(self)

    def observe(self, name: str, loader: DataLoader[Any, Any]) -> None:
        """Put ``loader``'s batches in a span and count their size (once per loader: an
        admin's ``members_for_rules`` is its ``members_by_id``)."""
        if id(loader) not in self._observed:
            self._observed.add(id(loader))
            loader.load_fn = _observed(name, loader.load_fn)

    def member_written(self, doc: Doc, *, created: bool = False) -> None:
        """A write changed (or ``created``) a member: the rules' loader gets the document;
        the caller's loader gets it as the caller's scope reads it when the caller created
        it, and reads it again through its scope otherwise."""
        members.written(self, doc, created=created)


def _observed(name: str, batch: Callable[[list[Any]], Awaitable[Sequence[Any]]]) -> Any:
    """``batch`` inside a span, with its size counted (``omnigw_dataloader_batch_size``)."""
    async def observed(keys: list[Any]) -> Sequence[Any]:
        metrics.observe_batch(name, len(keys))
        with tracing.tracer().start_as_current_span(
            f"dataloader {name}", attributes={"dataloader.name": name, "batch.size": len(keys)}
        ):
            return await batch(keys)

    return observed
