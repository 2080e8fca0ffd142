"""The Node interface: every object with a global id. Ids carry a readable prefix (``mem_``,
``ord_``, ...), and ``node(id:)`` dispatches on it: the types and prefixes are the entity table,
``gateway.ids.ENTITIES``."""

from __future__ import annotations

import strawberry

from gateway import ids


@strawberry.interface(description="An object with a global id whose prefix names its type.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Global id with a readable prefix: "
        + ", ".join(entity.prefix for entity in ids.ENTITIES) + "."
    )
