"""Every index the gateway relies on, declared in one place and ensured at start-up.

``createIndexes`` with an existing identical index is a no-op, so ensuring is idempotent.
"""

from __future__ import annotations

from typing import Any, Final

from pymongo import ASCENDING as ASC
from pymongo import DESCENDING as DESC
from pymongo import IndexModel

# Idempotency keys live at least this long (TTL index; MongoDB's TTL monitor removes them
# within a minute or so after expiry). Changing it needs the old index dropped first.
IDEMPOTENCY_TTL_SECONDS: Final = 48 * 3600

INDEXES: Final[dict[str, list[IndexModel]]] = {
    "api_keys": [IndexModel([("name", ASC)], unique=True)],
    "locations": [IndexModel([("channel_id", ASC)])],
    "products": [IndexModel([("category", ASC)]), IndexModel([("offers.channel_id", ASC)])],
    "inventory": [
        IndexModel([("sku", ASC), ("location_id", ASC)], unique=True),
        IndexModel([("location_id", ASC), ("_id", ASC)]),  # a location's levels, by SKU
        IndexModel([("holds.until", ASC)]),  # the reservation sweeper's expired holds
    ],
    "members": [
        IndexModel([("home_channel_id", ASC)]), IndexModel([("tier", ASC)]),
        # searchMembers (gateway/database/member_search.py): exact phone and e-mail, and a
        # name prefix as one range of the multikey index of the name and its word tails
        IndexModel([("search.phone", ASC)]), IndexModel([("search.email", ASC)]),
        IndexModel([("search.names", ASC)]),
    ],
    "identities": [IndexModel([("member_id", ASC)]), IndexModel([("channel_id", ASC)])],
    "orders": [
        IndexModel([("member_id", ASC), ("placed_at", DESC), ("_id", DESC)]),
        IndexModel([("channel_id", ASC), ("placed_at", DESC), ("_id", DESC)]),
        IndexModel([("placed_at", DESC), ("_id", DESC)]),
        IndexModel([("rollup_due.until", ASC)], sparse=True),  # the rollup sweeper
    ],
    "payments": [
        IndexModel([("order_id", ASC)]),
        IndexModel([("member_id", ASC), ("paid_at", DESC), ("_id", DESC)]),
        IndexModel([("channel_id", ASC), ("paid_at", DESC), ("_id", DESC)]),  # cash-ups
        IndexModel([("location_id", ASC), ("paid_at", DESC), ("_id", DESC)]),
        IndexModel([("paid_at", DESC), ("_id", DESC)]),
    ],
    "order_events": [
        IndexModel([("order_id", ASC), ("at", DESC), ("_id", DESC)]),
        IndexModel([("member_id", ASC), ("at", DESC), ("_id", DESC)]),
        IndexModel([("channel_id", ASC), ("at", DESC), ("_id", DESC)]),
        IndexModel([("at", DESC), ("_id", DESC)]),
    ],
    "refunds": [IndexModel([("payment_id", ASC), ("at", ASC)]), IndexModel([("order_id", ASC)])],
    "returns": [IndexModel([("order_id", ASC)])],
    "visits": [
        IndexModel([("member_id", ASC), ("at", DESC), ("_id", DESC)]),
        IndexModel([("channel_id", ASC), ("at", DESC), ("_id", DESC)]),
        IndexModel([("location_id", ASC), ("at", DESC)]),
        IndexModel([("at", DESC), ("_id", DESC)]),
        IndexModel([("rollup_due.until", ASC)], sparse=True),  # the rollup sweeper
    ],
    "member_rollups": [IndexModel([("member_id", ASC)])],
    "idempotency": [
        IndexModel([("created_at", ASC)], expireAfterSeconds=IDEMPOTENCY_TTL_SECONDS),
        # erasure strips, and export reads, the records of a person's writes by their result
        IndexModel([("result_id", ASC)]),
    ],
    "stock_movements": [
        IndexModel([("sku", ASC), ("location_id", ASC), ("at", DESC)]),
        IndexModel([("location_id", ASC), ("at", DESC), ("_id", DESC)]),
        IndexModel([("sku", ASC), ("at", DESC), ("_id", DESC)]),
    ],
    "transfers": [
        IndexModel([("created_at", DESC), ("_id", DESC)]),
        IndexModel([("from_location_id", ASC), ("created_at", DESC)]),
        IndexModel([("to_location_id", ASC), ("created_at", DESC)]),
        IndexModel([("pending_since", ASC)]),  # steps cut half-way, for the sweeper
    ],
    "points_ledger": [IndexModel([("member_id", ASC), ("at", DESC), ("_id", DESC)])],
    "merges": [IndexModel([("survivor_id", ASC)]), IndexModel([("merged_id", ASC)])],
    "consents": [IndexModel([("member_id", ASC), ("at", ASC), ("_id", ASC)])],
    "segments": [IndexModel([("owner", ASC), ("name", ASC)], unique=True)],
    "audit": [IndexModel([("member_id", ASC), ("at", ASC)])],
    "coupon_redemptions": [IndexModel([("member_id", ASC)])],  # a member's export
}


async def ensure_indexes(db: Any) -> None:
    """Create every declared index (idempotent)."""
    for collection, models in INDEXES.items():
        await db[collection].create_indexes(models)
