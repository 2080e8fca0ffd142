"""The Activity interface: an order, a payment or a visit, placed in time and in a channel."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from gateway.context import Info
from resolvers.channels import Channel, Location, load_channel, load_location
from resolvers.node import Node

if TYPE_CHECKING:
    from resolvers.members import Member


@strawberry.enum(description="The three kinds of activity in a member's history.")
class ActivityKind(Enum):
    ORDER = strawberry.enum_value("ORDER", description="An order placed.")
    PAYMENT = strawberry.enum_value("PAYMENT", description="A payment made.")
    VISIT = strawberry.enum_value("VISIT", description="A store visit, app session or view.")


COLLECTION_OF = {
    ActivityKind.ORDER: "orders",
    ActivityKind.PAYMENT: "payments",
    ActivityKind.VISIT: "visits",
}


@strawberry.interface(description="Something that happened in a channel at a moment.")
class Activity(Node):
    at: datetime = strawberry.field(description="When it happened (ISO 8601, UTC).")
    channel_id: strawberry.Private[str]
    location_id: strawberry.Private[str | None]
    member_id: strawberry.Private[str | None]

    @strawberry.field(description="The channel it happened in.")
    async def channel(self, info: Info) -> Channel | None:
        return await load_channel(info, self.channel_id)

    @strawberry.field(description="The physical location, for stores and outlets; else null.")
    async def location(self, info: Info) -> Location | None:
        return await load_location(info, self.location_id)

    @strawberry.field(description="The member; null for anonymous visits or when not visible.")
    async def member(
        self, info: Info
    ) -> Annotated[Member, strawberry.lazy("resolvers.members")] | None:
        from resolvers.members import load_member

        return await load_member(info, self.member_id)
