"""The Node interface: every object with a global id. Ids carry a readable prefix (``mem_``,
``ord_``, ...), and ``node(id:)`` dispatches on it."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with a global id whose prefix names its type.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Global id with a readable prefix: ch_, loc_, sku_, mem_, ord_, pay_, vis_, "
        "idn_, stk_."
    )
