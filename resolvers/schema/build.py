"""Builds the federation schema from the domain modules: the root Query, and every type,
extension and scalar in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.types.execution import ExecutionContext

from gateway import ids
from gateway.context import Info
from gateway.telemetry.graphql_tracing import OperationSpan
from gateway.telemetry.metrics import OperationMetrics
from resolvers.activity import Activity
from resolvers.campaigns import Campaign, CampaignQuery, load_campaign
from resolvers.channels import Channel, ChannelQuery, Location, load_channel, load_location
from resolvers.cohorts import CohortQuery
from resolvers.fx import FxQuery
from resolvers.member_search import MemberSearchQuery
from resolvers.members import Identity, Member, MemberQuery, load_identity, load_member
from resolvers.mutations import Mutation
from resolvers.node import Node
from resolvers.order_events import (
    OrderEvent,
    Refund,
    Return,
    load_event,
    load_refund,
    load_return,
)
from resolvers.orders import Order, OrderQuery, load_order
from resolvers.payments import Payment, PaymentQuery, load_payment
from resolvers.products import Product, ProductQuery, StockLevel, load_product, load_stock
from resolvers.reach import ReachQuery
from resolvers.scalars import SCALAR_MAP, SCALAR_OVERRIDES
from resolvers.schema import errors
from resolvers.schema.execution import FastExecutionContext
from resolvers.schema.extensions import DatabaseStats, Deadline
from resolvers.schema.federation import FederationSchema, RepresentationLimit
from resolvers.schema.guard import Guard
from resolvers.schema.operation import OperationChoice
from resolvers.schema.runner import create_runner
from resolvers.segments import SegmentQuery
from resolvers.stock import StockMovement, Transfer, TransferQuery, load_movement, load_transfer
from resolvers.subscriptions import Subscription
from resolvers.visits import Visit, VisitQuery, load_visit


@strawberry.type(description="Read the brand's channels, goods, members, orders and visits.")
class Query(ChannelQuery, ProductQuery, MemberQuery, MemberSearchQuery, OrderQuery,
            PaymentQuery, VisitQuery, ReachQuery, SegmentQuery, CohortQuery, TransferQuery,
            CampaignQuery, FxQuery):
    @strawberry.field(description="Any object by its global id (the prefix names the type).")
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Id.")]
    ) -> Node | None:
        return await NODE_LOADERS[ids.type_of(id)](info, id)


async def _identity(info: Info, id: str) -> Identity | None:
    return await load_identity(info, *ids.identity_parts(id))


async def _stock(info: Info, id: str) -> StockLevel | None:
    return await load_stock(info, *ids.stock_parts(id))


# How node(id:) loads each type of the entity table, gateway.ids.ENTITIES (a test walks the
# schema: every type that implements Node is in the table and here).
NODE_LOADERS: dict[str, Callable[[Info, str], Awaitable[Node | None]]] = {
    "Channel": load_channel,
    "Location": load_location,
    "Product": load_product,
    "Member": load_member,
    "Order": load_order,
    "Payment": load_payment,
    "Visit": load_visit,
    "Identity": _identity,
    "StockLevel": _stock,
    "OrderEvent": load_event,
    "Refund": load_refund,
    "Return": load_return,
    "StockMovement": load_movement,
    "Transfer": load_transfer,
    "Campaign": load_campaign,
}


class Schema(FederationSchema):
    """The federation schema; errors get their codes before anything else sees them."""

    def process_errors(
        self, errors_: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        errors.process(errors_)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        """Hooks planned once per schema, not per request (``resolvers.schema.runner``)."""
        return create_runner(execution_context, extensions)


def build_schema(**kwargs: Any) -> Schema:
    kwargs.setdefault("execution_context_class", FastExecutionContext)
    kwargs.setdefault("config", StrawberryConfig(scalar_map=SCALAR_MAP))
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Activity, Channel, Location, Product, StockLevel, StockMovement, Transfer, Member,
               Identity, Order, Payment, Visit, OrderEvent, Refund, Return, Campaign],
        extensions=[
            OperationSpan,  # first: its span encloses the work of the others
            DatabaseStats,
            Deadline,
            OperationMetrics,
            RepresentationLimit,
            Guard,  # limits, cost and throttling; it also parses and validates (cached by hash)
            OperationChoice,  # one operation, no subscription over HTTP: after the Guard
        ],
        scalar_overrides=SCALAR_OVERRIDES,
        **kwargs,
    )
