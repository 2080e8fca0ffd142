"""The comparison app of the HTTP benchmark: plain strawberry on Starlette, default settings,
serving the channels from memory (read once from MongoDB at start-up).

    OMNIGW_PLAIN_MONGODB_URI=mongodb://... OMNIGW_PLAIN_DATABASE=omnigw_bench \\
        uvicorn tests.benchmarks.plain_app:create_app --factory --port 8001

It answers ``{ __typename }`` and ``{ channels { id name kind currency } }`` as the gateway
does: no key, no limits, no telemetry, no database command per request.
"""

from __future__ import annotations

import os
from enum import Enum

import pymongo
import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL


@strawberry.enum
class ChannelKind(Enum):
    ONLINE_SHOP = "ONLINE_SHOP"
    SUPERMARKET = "SUPERMARKET"
    RURAL_OUTLET = "RURAL_OUTLET"
    OVERSEAS = "OVERSEAS"


@strawberry.type
class Channel:
    id: strawberry.ID
    name: str
    kind: ChannelKind
    currency: str


def create_app() -> Starlette:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        os.environ["OMNIGW_PLAIN_MONGODB_URI"])
    try:
        docs = list(client[os.environ["OMNIGW_PLAIN_DATABASE"]]["channels"].find().sort("_id"))
    finally:
        client.close()
    channels = [Channel(id=strawberry.ID(str(d["_id"])), name=str(d["name"]),
                        kind=ChannelKind(d["kind"]), currency=str(d["currency"])) for d in docs]

    @strawberry.type
    class Query:
        @strawberry.field
        def channels(self) -> list[Channel]:
            return channels

    return Starlette(routes=[Route("/graphql", GraphQL(strawberry.Schema(query=Query)))])
