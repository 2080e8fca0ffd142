"""Campaigns and coupons: the reads (the writes are in gateway/database/writes/campaigns.py).

``campaigns``: ``_id`` (``cmp_...``), ``name``, ``channel_ids``, ``channel_kinds``,
``starts_local`` and ``ends_local`` (wall-clock times, stored as datetimes whose UTC fields are
the wall clock), ``window_from`` and ``window_to`` (the UTC span in which it may run in some
zone, see gateway/commerce/promotions.py), ``coupon_required``, ``rules``, ``created_at``,
``created_by``.

``coupons``: ``_id`` is the code (upper case, so unique by construction), ``campaign_id``,
``batch_id``, ``max_uses``, ``uses`` (taken uses, one conditional ``$inc`` each),
``created_at``. ``coupon_redemptions``: ``_id`` ``"<code>:<order id>"``, ``status``
(``REDEEMED`` or ``RELEASED``), the order, its channel and member, ``at``.

Who sees a campaign: an admin every one; a partner those that cover one of its channels (by
id, or by the kind of one of its channels), so the caller's channel kinds come with its scope
(:class:`CampaignScope`). Coupons are read through their campaign, which was read in scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.database import Database
from gateway.database.query import Doc, Paging, by_ids, combine, find, page_by_id
from gateway.database.scope import Scope

CAMPAIGNS = "campaigns"
COUPONS = "coupons"
REDEMPTIONS = "coupon_redemptions"


@dataclass(frozen=True)
class CampaignScope:
    """A caller's scope and the kinds of its channels (``None`` for an admin)."""

    scope: Scope
    kinds: frozenset[str] | None = None

    def filter(self) -> Doc:
        if self.scope.channels is None:
            return {}
        return {"$or": [{"channel_ids": {"$in": sorted(self.scope.channels)}},
                        {"channel_kinds": {"$in": sorted(self.kinds or ())}}]}


async def campaigns_by_ids(db: Database, ids: Sequence[str], *,
                           seen_by: CampaignScope) -> dict[str, Doc]:
    return await by_ids(db[CAMPAIGNS], ids, seen_by.filter())


async def campaigns_page(db: Database, *, seen_by: CampaignScope, paging: Paging,
                         channel_id: str | None = None, kind: str | None = None) -> list[Doc]:
    """A page of campaigns in id order; with ``channel_id`` (of kind ``kind``) those that
    cover that channel."""
    covering = ({"$or": [{"channel_ids": channel_id}, {"channel_kinds": kind}]}
                if channel_id is not None else {})
    return await page_by_id(db[CAMPAIGNS], combine(covering, seen_by.filter()), paging=paging)


async def may_run(db: Database, *, channel_id: str, kind: str, at: datetime) -> list[Doc]:
    """Campaigns covering the channel whose UTC span holds ``at`` (one indexed find); the
    caller decides in the channel's zone (``promotions.running``)."""
    return await find(db[CAMPAIGNS], {
        "window_from": {"$lte": at}, "window_to": {"$gt": at},
        "$or": [{"channel_ids": channel_id}, {"channel_kinds": kind}],
    }, sort=[("_id", 1)])


async def coupon(db: Database, code: str) -> Doc | None:
    found: Doc | None = await db[COUPONS].find_one({"_id": code})
    return found


async def redemption(db: Database, redemption_id: str) -> Doc | None:
    found: Doc | None = await db[REDEMPTIONS].find_one({"_id": redemption_id})
    return found


async def coupons_page(db: Database, *, campaign_id: str, paging: Paging) -> list[Doc]:
    """A page of a campaign's coupons, in code order."""
    return await page_by_id(db[COUPONS], {"campaign_id": campaign_id}, paging=paging)


async def coupons_of_batch(db: Database, batch_id: str) -> list[Doc]:
    return await find(db[COUPONS], {"batch_id": batch_id}, sort=[("_id", 1)])
