"""Loyalty: the points ledger of a member and the merge records of their account."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from gateway.clock import optional_utc, utc
from gateway.context import Info
from gateway.database.query import Doc
from resolvers.orders import Order, load_order
from resolvers.scalars import Long


@strawberry.enum(description="Why a points balance changed.")
class PointsReason(Enum):
    SIGNUP = strawberry.enum_value("SIGNUP", description="The signup bonus (100 points).")
    EARN = strawberry.enum_value(
        "EARN",
        description="An order became PAID: floor(total in base currency / 1 base unit) x the "
        "channel's multiplier (ONLINE_SHOP 1, SUPERMARKET 1, RURAL_OUTLET 2, OVERSEAS 1); an "
        "imported order (importOrders) earns at most OMNIGW_MAX_IMPORT_POINTS (default "
        "10,000; 0: none).")
    REVERSE = strawberry.enum_value(
        "REVERSE", description="A paid order was cancelled: what it still held is taken back.")
    REFUND = strawberry.enum_value(
        "REFUND", description="A refund of a paid order (refundPayment, returnOrder): the "
        "points its net value earned before less those it earns after.")
    REDEEM = strawberry.enum_value(
        "REDEEM", description="Points spent on an order (redeemPoints; a POINTS payment).")
    RESTORE = strawberry.enum_value(
        "RESTORE", description="Spent points given back: their POINTS payment was refunded "
        "(refundPayment, returnOrder, or cancelOrder), in proportion to the amount refunded.")


@strawberry.type(
    description="One change of a member's points balance. Tier follows lifetime spend in the "
    "base currency (cancelled orders excluded; thresholds in the OMNIGW_TIER_THRESHOLDS "
    "setting, by default SILVER from 1,500.00, GOLD from 5,000.00, PLATINUM from 10,000.00)."
)
class PointsEntry:
    id: strawberry.ID = strawberry.field(
        description="Entry id: reason and order, refund or member id.")
    delta: Long = strawberry.field(description="Points added (positive) or taken (negative).")
    reason: PointsReason = strawberry.field(description="Why.")
    balance: Long | None = strawberry.field(
        description="The member's balance right after (every channel); null for a partner key.")
    at: datetime = strawberry.field(description="When (UTC).")
    member_id: strawberry.ID = strawberry.field(
        description="The member account it was booked to (a merged member's own id).")
    order_id: strawberry.Private[str | None]

    @strawberry.field(description="The order that earned or lost the points, if any.")
    async def order(self, info: Info) -> Order | None:
        return await load_order(info, self.order_id)

    @classmethod
    def from_doc(cls, doc: Doc) -> PointsEntry:
        return cls(id=strawberry.ID(doc["_id"]), delta=doc["delta"],
                   reason=PointsReason(doc["reason"]), balance=doc.get("balance"),
                   at=utc(doc["at"]), member_id=strawberry.ID(doc["member_id"]),
                   order_id=doc.get("order_id"))


@strawberry.enum(description="Whether a merge is in effect.")
class MergeStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Being applied or undone.")
    ACTIVE = strawberry.enum_value("ACTIVE", description="In effect.")
    UNDONE = strawberry.enum_value("UNDONE", description="Reverted by unmergeMembers.")


@strawberry.type(description="One merge of two member accounts: what moved, when, by whom.")
class Merge:
    id: strawberry.ID = strawberry.field(description="Merge id, prefix mrg_.")
    survivor_id: strawberry.ID = strawberry.field(description="The member that remains.")
    merged_id: strawberry.ID = strawberry.field(description="The member folded into it.")
    status: MergeStatus = strawberry.field(description="In effect or undone.")
    moved_identities: list[str] = strawberry.field(
        description="Identity ids (`channel:externalId`) moved to the survivor; for a partner "
        "key, those of its channels.")
    moved_points: Long | None = strawberry.field(
        description="Points moved to the survivor; null for a partner key (a balance counts "
        "every channel).")
    merged_by: str | None = strawberry.field(
        description="The name of the key that merged; null for a partner key.")
    merged_at: datetime = strawberry.field(description="When (UTC).")
    unmerged_by: str | None = strawberry.field(
        description="The name of the key that undid it, if undone; null for a partner key.")
    unmerged_at: datetime | None = strawberry.field(description="When it was undone.")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Merge:
        return cls(
            id=strawberry.ID(doc["_id"]), survivor_id=strawberry.ID(doc["survivor_id"]),
            merged_id=strawberry.ID(doc["merged_id"]), status=MergeStatus(doc["status"]),
            moved_identities=list(doc["identity_ids"]), moved_points=doc.get("points"),
            merged_by=doc.get("merged_by"), merged_at=utc(doc["merged_at"]),
            unmerged_by=doc.get("unmerged_by"), unmerged_at=optional_utc(doc.get("unmerged_at")),
        )
