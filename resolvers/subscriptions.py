"""Live subscriptions (graphql-transport-ws): a member's activity and a channel's orders.

They are live queries by multiplexed polling (``gateway.live``): a write by any system
reaches subscribers within about one polling interval. Each event is resolved with fresh
DataLoaders, in the connection's scope.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from gateway import ids
from gateway.context import Info
from gateway.database.activity import ACTIVITY_COLLECTIONS
from gateway.errors import Forbidden, NotFound
from gateway.live import Event, Interest, Poller
from gateway.loaders import Loaders
from gateway.telemetry.metrics import LIVE_SUBSCRIPTIONS
from resolvers.activity import Activity
from resolvers.members import ACTIVITY_FROM_DOC, load_member
from resolvers.orders import Order, load_order


async def _events(info: Info, field: str, interests: list[Interest]) -> AsyncGenerator[Event, None]:
    poller: Poller = info.context.request.app.state.live
    context = info.context
    async with poller.subscribe(interests, context.scope) as feed:
        LIVE_SUBSCRIPTIONS.labels(field).inc()
        try:
            while (event := await feed.next()) is not None:
                context.loaders = Loaders(context.db, context.scope)
                yield event
        finally:
            LIVE_SUBSCRIPTIONS.labels(field).dec()


@strawberry.type(description="Live updates, over WebSocket (graphql-transport-ws).")
class Subscription:
    @strawberry.subscription(
        description="A member's orders, payments, visits and order events (shipped, collected, "
        "refunded, returned...) as they happen, in any channel "
        "the caller may see (the Activity of Member.history). Within about one polling "
        "interval of the write, whoever wrote it."
    )
    async def member_activity(
        self,
        info: Info,
        member: Annotated[strawberry.ID, strawberry.argument(description="The member (mem_).")],
    ) -> AsyncGenerator[Activity, None]:
        member_id = ids.check(member, "mem_", field="member")
        if not info.context.scope.unrestricted and await load_member(info, member_id) is None:
            raise NotFound(f"No member {member_id} visible to the caller.", field="member")
        interests = [Interest(c, "member_id", member_id) for c in ACTIVITY_COLLECTIONS]
        async for collection, doc in _events(info, "memberActivity", interests):
            yield ACTIVITY_FROM_DOC[collection](doc)

    @strawberry.subscription(
        description="Orders of one channel as they are placed and as their life goes on "
        "(shipped, ready for pick-up, collected, completed, cancelled, payments captured or "
        "voided, refunded, returned: the order as it is then), whoever wrote them."
    )
    async def channel_orders(
        self,
        info: Info,
        channel: Annotated[strawberry.ID, strawberry.argument(description="The channel (ch_).")],
    ) -> AsyncGenerator[Order, None]:
        channel_id = ids.check(channel, "ch_", field="channel")
        if not info.context.scope.allows(channel_id):
            raise Forbidden(f"The caller may not see channel {channel_id}.", field="channel")
        interests = [Interest(c, "channel_id", channel_id) for c in ("orders", "order_events")]
        async for collection, doc in _events(info, "channelOrders", interests):
            if collection == "orders":
                yield Order.from_doc(doc)
            elif (order := await load_order(info, doc["order_id"])) is not None:
                yield order
