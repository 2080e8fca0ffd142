"""Loaders of campaigns: campaigns by id (in the caller's view), and campaign results (one
pair of aggregates for every campaign of a tick, gateway/database/campaign_results.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from gateway.database import campaign_results, campaigns
from gateway.database.campaigns import CampaignScope
from gateway.database.query import Doc
from gateway.loaders.batch import SharedLoader, by_key

if TYPE_CHECKING:
    from gateway.loaders import Loaders


async def seen_by(loaders: Loaders) -> CampaignScope:
    """The caller's scope and, for a partner, the kinds of its channels (through the
    channels loader: one command per request, shared with every channel field)."""
    if loaders.scope.channels is None:
        return CampaignScope(loaders.scope)
    docs = await loaders.channels_by_id.load_many(sorted(loaders.scope.channels))
    return CampaignScope(loaders.scope, frozenset(d["kind"] for d in docs if d is not None))


def campaigns_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    async def fetch(ids: list[str]) -> dict[str, Doc]:
        return await campaigns.campaigns_by_ids(loaders.db, ids, seen_by=await seen_by(loaders))

    return by_key(fetch)


def results_by_campaign(
    loaders: Loaders,
) -> DataLoader[campaign_results.Key, campaign_results.CampaignRows]:
    return SharedLoader(load_fn=lambda keys: campaign_results.results_batch(
        loaders.db, keys, scope=loaders.scope))
