"""Loaders of segments: saved segments by id, and the answers to segment questions (sizes and
pages of members), every question of a tick in one aggregate
(:mod:`gateway.database.segment_query`)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from gateway.database import segment_query, segments
from gateway.database.query import Doc
from gateway.loaders.batch import SharedLoader, by_key

if TYPE_CHECKING:
    from gateway.loaders import Loaders


def segments_by_id(loaders: Loaders) -> DataLoader[str, Doc | None]:
    return by_key(lambda ids: segments.segments_by_ids(loaders.db, ids, scope=loaders.scope))


def segment_answers(loaders: Loaders) -> DataLoader[segment_query.Question, Any]:
    """The size (``int``) or page of member ids (``list[str]``) of each question."""

    async def batch(questions: list[segment_query.Question]) -> list[Any]:
        listed = await loaders.channel_list()
        kinds: dict[str, list[str]] = defaultdict(list)
        for channel in listed:
            kinds[channel["kind"]].append(channel["_id"])
        catalogue = segment_query.Catalogue(
            kinds={kind: tuple(ids) for kind, ids in kinds.items()},
            channels=tuple(c["_id"] for c in listed))
        return await segment_query.answer(loaders.db, questions, catalogue=catalogue)

    return SharedLoader(load_fn=batch)
