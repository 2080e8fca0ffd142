"""Loaders of members: members, identities, merges, the points ledger and the per-channel
summaries.

Member activity is keyed by the member's *cluster*: the member's own id followed by the ids
of the members merged into it (``merged_ids`` on the member document). The summary, ledger and
history (:mod:`gateway.loaders.timeline`) loaders query by every id of every cluster in one
``$in`` and fold the results back per cluster, so a merged member's orders, payments and
visits count for the survivor without being rewritten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from strawberry.dataloader import DataLoader

from gateway.database import consents, member_records, members, rollups
from gateway.database.query import Doc, Paging, nearest
from gateway.database.scope import ADMIN
from gateway.loaders.batch import SharedLoader, by_key

if TYPE_CHECKING:
    from gateway.loaders import Loaders

Cluster = tuple[str, ...]
Q = TypeVar("Q")


def cluster_of(member: Doc) -> list[str]:
    """The member's id followed by the ids of the members merged into it."""
    return [member["_id"], *member.get("merged_ids", [])]


def owners(clusters: Sequence[Cluster]) -> tuple[list[str], dict[str, list[Cluster]]]:
    """Every id of the clusters (once) and, for each id, the clusters it belongs to."""
    found: dict[str, list[Cluster]] = defaultdict(list)
    for cluster in dict.fromkeys(clusters):
        for member_id in cluster:
            found[member_id].append(cluster)
    return list(found), found


def by_page(keys: Sequence[tuple[Cluster, Q]]) -> dict[Q, list[str]]:
    """The member ids of a tick's clusters, by the page their keys ask for: one query per
    page shape, for every member of every cluster that asks for it."""
    clusters: dict[Q, list[Cluster]] = defaultdict(list)
    for cluster, query in keys:
        clusters[query].append(cluster)
    return {query: owners(found)[0] for query, found in clusters.items()}


@dataclass(frozen=True)
class LedgerQuery:
    """The arguments of one ``Member.pointsLedger`` page."""

    paging: Paging


def members_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    """Members as the caller's scope reads them."""
    return by_key(lambda ids: members.members_by_ids(loaders.db, ids, scope=loaders.scope))


def members_for_rules(loaders: Loaders) -> DataLoader[str, Doc | None]:
    """Members whatever the caller may see: the rules of a write (points, tier) read them. An
    admin's request shares one loader (and its cache) for both."""
    if loaders.scope.unrestricted:
        return loaders.members_by_id
    return by_key(lambda ids: members.members_by_ids(loaders.db, ids, scope=ADMIN))


def written(loaders: Loaders, doc: Doc, *, created: bool) -> None:
    """See :meth:`gateway.loaders.Loaders.member_written`."""
    loaders.members_for_rules.prime(doc["_id"], doc, force=True)
    if loaders.members_by_id is loaders.members_for_rules:
        return
    if created:
        loaders.members_by_id.prime(doc["_id"], members.seen_by(doc, loaders.scope), force=True)
    elif loaders.members_by_id.cache_map.get(doc["_id"]) is not None:
        loaders.members_by_id.clear(doc["_id"])


def identities_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return by_key(lambda ids: members.identities_by_ids(loaders.db, ids, scope=loaders.scope))


def identities_by_member(loaders: Loaders) -> DataLoader[str, list[Doc]]:
    return by_key(lambda ids: members.identities_by_members(loaders.db, ids,
                                                            scope=loaders.scope), default=[])


def merges_by_member(loaders: Loaders) -> DataLoader[str, list[Doc]]:
    return by_key(lambda ids: member_records.merges_by_members(loaders.db, ids,
                                                               scope=loaders.scope), default=[])


def ledger_by_member(loaders: Loaders) -> DataLoader[tuple[Cluster, LedgerQuery], list[Doc]]:
    """A page of each cluster's points ledger, newest first."""

    async def batch(keys: list[tuple[Cluster, LedgerQuery]]) -> list[list[Doc]]:
        found = {query: await member_records.ledger_by_members(
                     loaders.db, member_ids, scope=loaders.scope, paging=query.paging)
                 for query, member_ids in by_page(keys).items()}
        return [nearest([d for m in cluster for d in found[query].get(m, [])], "at",
                        query.paging) for cluster, query in keys]

    return SharedLoader(load_fn=batch)


def summaries_by_member(loaders: Loaders) -> DataLoader[Cluster, list[Doc]]:
    """Each cluster's rollups, one per (member, channel) (``gateway.commerce.rollups``): one
    ``find`` for all, as cheap for a member with 100,000 orders as for one with 20."""

    async def batch(clusters: list[Cluster]) -> list[list[Doc]]:
        member_ids, owned = owners(clusters)
        rows: dict[Cluster, list[Doc]] = defaultdict(list)
        for row in await rollups.rollups_by_members(loaders.db, member_ids,
                                                    scope=loaders.scope):
            for cluster in owned[row["member_id"]]:
                rows[cluster].append(row)
        return [rows.get(cluster, []) for cluster in clusters]

    return SharedLoader(load_fn=batch)


def consents_by_member(loaders: Loaders) -> DataLoader[Cluster, list[Doc]]:
    """Each cluster's consent records in the caller's channels, oldest first: one find."""

    async def batch(clusters: list[Cluster]) -> list[list[Doc]]:
        member_ids, _ = owners(clusters)
        found = await consents.consents_by_members(loaders.db, member_ids, scope=loaders.scope)
        return [sorted((d for m in cluster for d in found.get(m, [])),
                       key=lambda d: (d["at"], d["_id"])) for cluster in clusters]

    return SharedLoader(load_fn=batch)
