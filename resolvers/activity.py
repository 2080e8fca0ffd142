"""The Activity interface: an order, a payment or a visit, placed in time and in a channel;
and what every activity list shares: its filter's checks and its cursor position."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from gateway import ids
from gateway.clock import utc
from gateway.context import Info
from gateway.database.activity import ActivityFilter
from gateway.database.query import Doc, Keyset
from gateway.errors import BadUserInput
from resolvers.channels import Channel, Location, channel_of, location_of
from resolvers.node import Node
from resolvers.relations import MaybeAwaitable, prime, relation_field, selected

if TYPE_CHECKING:
    from resolvers.members import Member


@strawberry.enum(description="The four kinds of activity in a member's history.")
class ActivityKind(Enum):
    ORDER = strawberry.enum_value("ORDER", description="An order placed.")
    PAYMENT = strawberry.enum_value("PAYMENT", description="A payment made.")
    VISIT = strawberry.enum_value("VISIT", description="A store visit, app session or view.")
    ORDER_EVENT = strawberry.enum_value(
        "ORDER_EVENT", description="A step of an order after it was placed: shipped, "
        "collected, completed, cancelled, captured, voided, refunded, returned.")


@strawberry.enum(
    description="The status of an order or a payment. One enum serves both so that a timeline "
    "can ask `... on Order { status } ... on Payment { status }` without aliases (GraphQL "
    "merges two fields of one response name only when their types are the same). An order "
    "is PLACED, PAID, SHIPPED, COMPLETED or CANCELLED; a payment AUTHORIZED, CAPTURED, "
    "VOIDED, PARTIALLY_REFUNDED, REFUNDED or FAILED."
)
class ActivityStatus(Enum):
    PLACED = strawberry.enum_value("PLACED", description="Order: placed, not yet paid.")
    PAID = strawberry.enum_value("PAID", description="Order: paid in full.")
    SHIPPED = strawberry.enum_value("SHIPPED", description="Order: handed to delivery.")
    COMPLETED = strawberry.enum_value("COMPLETED", description="Order: delivered or collected.")
    CANCELLED = strawberry.enum_value("CANCELLED", description="Order: cancelled; stock returned.")
    AUTHORIZED = strawberry.enum_value("AUTHORIZED", description="Payment: authorized, not "
                                       "captured.")
    CAPTURED = strawberry.enum_value("CAPTURED", description="Payment: money received.")
    VOIDED = strawberry.enum_value("VOIDED", description="Payment: authorised, then voided "
                                   "(never captured).")
    PARTIALLY_REFUNDED = strawberry.enum_value(
        "PARTIALLY_REFUNDED", description="Payment: captured, part of it refunded.")
    REFUNDED = strawberry.enum_value("REFUNDED", description="Payment: returned to the payer "
                                     "in full.")
    FAILED = strawberry.enum_value("FAILED", description="Payment: did not go through.")


ORDER_STATUSES = (ActivityStatus.PLACED, ActivityStatus.PAID, ActivityStatus.SHIPPED,
                  ActivityStatus.COMPLETED, ActivityStatus.CANCELLED)
PAYMENT_STATUSES = tuple(s for s in ActivityStatus if s not in ORDER_STATUSES)


_STATUSES_OF = {"order": (ORDER_STATUSES, "a payment status; an order is"),
                "payment": (PAYMENT_STATUSES, "an order status; a payment is")}


def check_statuses(statuses: list[ActivityStatus] | None, *, of: str) -> None:
    """A list filter's statuses are all of its kind (``of``: "order" or "payment"); else
    BAD_USER_INPUT naming the first that is the other kind's."""
    allowed, says = _STATUSES_OF[of]
    wrong = [s.name for s in statuses or () if s not in allowed]
    if wrong:
        raise BadUserInput(f"{wrong[0]} is {says} {', '.join(s.name for s in allowed)}.",
                           field="statuses")


COLLECTION_OF = {
    ActivityKind.ORDER: "orders",
    ActivityKind.PAYMENT: "payments",
    ActivityKind.VISIT: "visits",
    ActivityKind.ORDER_EVENT: "order_events",
}


@strawberry.interface(description="Something that happened in a channel at a moment: an "
                      "order, a payment, a visit or an order event.")
class Activity(Node):
    at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    channel_id: strawberry.Private[str]
    location_id: strawberry.Private[str | None]
    member_id: strawberry.Private[str | None]

    @relation_field(description="The channel it happened in.", graphql_type=Channel | None)
    def channel(self, info: Info) -> MaybeAwaitable[Channel | None]:
        return channel_of(info, self.channel_id)

    @relation_field(description="The physical location, for stores and outlets; else null.",
                      graphql_type=Location | None)
    def location(self, info: Info) -> MaybeAwaitable[Location | None]:
        return location_of(info, self.location_id)

    @strawberry.field(description="The member; null for anonymous visits or when not visible.")
    async def member(
        self, info: Info
    ) -> Annotated[Member, strawberry.lazy("resolvers.members")] | None:
        from resolvers.members import load_member

        return await load_member(info, self.member_id)


async def prime_activities(info: Info, docs: list[tuple[str, Doc]], *path: str) -> None:
    """Load what the relation fields selected at ``path`` (below the current field) will ask
    of these activities, ``(collection, document)`` pairs, before they are resolved: their
    channels and locations, and an order's payments and its lines' products (see
    :mod:`resolvers.relations`). A relation not listed here is loaded by its field, as ever."""
    fields = selected(info, *path)
    loaders = info.context.loaders
    orders = [doc for collection, doc in docs if collection == "orders"]
    loads: list[tuple[Any, list[Any]]] = []
    if "channel" in fields:
        loads.append((loaders.channels_by_id, [doc["channel_id"] for _, doc in docs]))
    if "location" in fields:
        loads.append((loaders.locations_by_id,
                      [doc["location_id"] for _, doc in docs if doc.get("location_id")]))
    if orders and "payments" in fields:
        loads.append((loaders.payments_by_order, [doc["_id"] for doc in orders]))
    if orders and "lines" in fields and "product" in selected(info, *path, "lines"):
        loads.append((loaders.products_by_sku,
                      [line["sku"] for doc in orders for line in doc["lines"]]))
    await prime(*loads)


def time_key(field: str) -> Any:
    return lambda d: Keyset(id=d["_id"], at=utc(d[field]))


def activity_filter(
    *,
    channels: list[strawberry.ID] | None = None,
    member: str | None = None,
    location: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    statuses: tuple[str, ...] | None = None,
    kinds: tuple[str, ...] | None = None,
) -> ActivityFilter:
    """Validate filter arguments into the repository's typed filter."""
    if channels is not None and len(channels) > 50:
        raise BadUserInput("At most 50 channels per filter.", field="channels")
    if since is not None and until is not None and utc(since) >= utc(until):
        raise BadUserInput("`since` must be before `until`.", field="since")
    checked = (
        ids.check_many([str(c) for c in channels], "ch_", field="channels")
        if channels is not None
        else None
    )
    return ActivityFilter(
        channel_ids=tuple(checked) if checked is not None else None,
        member_id=ids.check(member, "mem_", field="member") if member else None,
        location_id=ids.check(location, "loc_", field="location") if location else None,
        statuses=statuses,
        kinds=kinds,
        since=utc(since) if since else None,
        until=utc(until) if until else None,
    )
