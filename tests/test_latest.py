"""A page of each member's history in one aggregate (gateway/database/latest.py): the union
shape walks the (member, time) index of its collection for at most first + 1 documents per
member, the grouped shape runs where ``$unionWith`` does not, and both answer the same.

Neither test engine answers ``explain`` or has ``$unionWith``, so the union shape's cost is
proven by its form against the indexes we create (every branch: equality on the index's
first field, a range on its second, the index's order, a limit of first + 1), and its answers
by running its branches on the wire server and the embedded store (exactly what
``$unionWith`` does with branches that end a pipeline) against the grouped shape.
``tests/benchmarks/history_depth.py`` runs ``explain`` where the engine has it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pymongo.errors import OperationFailure

from gateway.database import Database, engine
from gateway.database.activity import TIME_FIELD, ActivityFilter
from gateway.database.indexes import INDEXES
from gateway.database.latest import MAX_BRANCHES, grouped_pipeline, latest_per_key, union_pipeline
from gateway.database.query import Doc, Keyset, Paging
from gateway.database.scope import ADMIN, Scope
from tests.support import SEEDS, Gateway

# Every collection read a page per member at a time, with its time field.
READ_PER_MEMBER = {**TIME_FIELD, "points_ledger": "at"}
MEMBERS = [f"mem_{n:05d}" for n in (1, 2, 3, 7, 20, 33)]
T = SEEDS["orders"][600]["placed_at"]
PAGINGS = {
    "first 5": Paging(size=5),
    "first 1": Paging(size=1),
    "after": Paging(size=4, after=Keyset(id="ord_0000600", at=T)),
    "last 3 before": Paging(size=3, backward=True, before=Keyset(id="ord_0000600", at=T)),
    "between": Paging(size=50, after=Keyset(id="zzz", at=T),
                      before=Keyset(id="", at=T - timedelta(days=120))),
}
WHERE = {"none": ActivityFilter(), "statuses": ActivityFilter(statuses=("PAID", "COMPLETED")),
         "since": ActivityFilter(since=T - timedelta(days=60))}
SCOPES = {"admin": ADMIN, "partner": Scope(frozenset({"ch_freshmart", "ch_th_market"}))}


def member_index(collection: str) -> list[tuple[str, int]]:
    """The keys of the collection's index that starts with ``member_id``."""
    [keys] = [list(model.document["key"].items()) for model in INDEXES[collection]
              if next(iter(model.document["key"])) == "member_id"]
    return keys


def branches(pipeline: list[Doc], collection: str) -> list[list[Doc]]:
    """The union's branches: the pipeline's own first one, then each ``$unionWith``'s."""
    found = [pipeline[:3]]
    for stage in pipeline[3:]:
        assert list(stage) == ["$unionWith"]
        assert stage["$unionWith"]["coll"] == collection
        found.append(stage["$unionWith"]["pipeline"])
    return found


def conjuncts(match: Doc) -> list[Doc]:
    """The ANDed parts of a ``$match`` (nested ``$and`` flattened, as the server does), each
    with one field or operator, in order."""
    return [part for k, v in match.items()
            for part in ([p for doc in v for p in conjuncts(doc)] if k == "$and" else [{k: v}])]


@pytest.mark.parametrize("collection", READ_PER_MEMBER)
@pytest.mark.parametrize("paging", PAGINGS.values(), ids=PAGINGS.keys())
@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_each_union_branch_walks_the_member_index_for_first_plus_one(
    collection: str, paging: Paging, scope: Scope
) -> None:
    time_field = READ_PER_MEMBER[collection]
    [(key, _), (time_key, time_order), (id_key, id_order)] = member_index(collection)
    assert (key, time_key, id_key) == ("member_id", time_field, "_id")
    pipeline = union_pipeline(collection, key_field="member_id", keys=MEMBERS,
                              query=scope.restrict({}), time_field=time_field, paging=paging)
    found = branches(pipeline, collection)
    assert len(found) == len(MEMBERS)  # one branch per member, in one command
    for member, (match, sort, limit) in zip(MEMBERS, found, strict=True):
        parts = conjuncts(match["$match"])
        # equality on the index's first field comes first
        assert parts[0] == {"member_id": member}
        # a page with bounds has them as a range on the index's second field
        ranges = [p[time_field] for p in parts if time_field in p]
        if paging.after is not None:
            assert {"$lte": paging.after.at} in ranges
        if paging.before is not None:
            assert {"$gte": paging.before.at} in ranges
        # the sort is the index's order after the equality (reversed for a backward page)
        direction = -1 if paging.backward else 1
        assert sort == {"$sort": {time_field: time_order * direction, "_id": id_order * direction}}
        # and the walk stops at first + 1
        assert limit == {"$limit": paging.size + 1}


def test_a_tick_of_more_members_than_one_union_holds_is_split() -> None:
    keys = [f"mem_{n:05d}" for n in range(MAX_BRANCHES + 1)]
    pipeline = union_pipeline("orders", key_field="member_id", keys=keys[:MAX_BRANCHES],
                              query={}, time_field="placed_at", paging=Paging(size=20))
    assert len(pipeline) == 3 + MAX_BRANCHES - 1 < 1000  # MongoDB's limit of stages


class Unioned:
    """A collection that runs a pipeline ending in ``$unionWith`` stages as MongoDB does:
    the pipeline before them, then each one's pipeline on its collection, concatenated."""

    def __init__(self, db: Database, collection: str) -> None:
        self.db, self.name = db, collection
        self.commands = 0

    async def aggregate(self, pipeline: list[Doc], **kwargs: Any) -> Any:
        cut = next((i for i, s in enumerate(pipeline) if "$unionWith" in s), len(pipeline))
        parts = [(self.name, pipeline[:cut])]
        for stage in pipeline[cut:]:
            assert list(stage) == ["$unionWith"], "only trailing $unionWith stages"
            parts.append((stage["$unionWith"]["coll"], stage["$unionWith"]["pipeline"]))
        self.commands += 1
        docs: list[Doc] = []
        for collection, part in parts:
            docs += await (await self.db[collection].aggregate(part, **kwargs)).to_list(None)
        return _Cursor(docs)


class _Cursor:
    def __init__(self, docs: list[Doc]) -> None:
        self.docs = docs

    async def to_list(self, length: int | None = None) -> list[Doc]:
        return self.docs


@pytest.mark.parametrize("store", ["wire", "embedded"])
async def test_union_and_grouped_shapes_answer_the_same(
    store: str, wire_gateway: Gateway, embedded_gateway: Gateway
) -> None:
    gateway = wire_gateway if store == "wire" else embedded_gateway
    db: Database = gateway.app.state.db
    compared = 0
    for collection, time_field in READ_PER_MEMBER.items():
        unioned = Unioned(db, collection)
        for paging in PAGINGS.values():
            for scope in SCOPES.values():
                for where in WHERE.values() if collection in TIME_FIELD else [None]:
                    query = scope.restrict(where.query(collection) if where else {})
                    shape: dict[str, Any] = {
                        "key_field": "member_id", "keys": MEMBERS, "query": query,
                        "time_field": time_field, "paging": paging}
                    grouped = await latest_per_key(db[collection], union=False, **shape)
                    union = await latest_per_key(unioned, union=True, **shape)
                    assert union == grouped, (collection, paging, scope, where)
                    compared += sum(map(len, grouped.values()))
        assert unioned.commands == len(PAGINGS) * len(SCOPES) * (
            len(WHERE) if collection in TIME_FIELD else 1)  # one command per page
    assert compared > 1000  # the pages were not empty


@pytest.mark.parametrize("store", ["wire", "embedded"])
async def test_the_test_engines_have_no_union_and_run_the_grouped_shape(
    store: str, wire_gateway: Gateway, embedded_gateway: Gateway
) -> None:
    gateway = wire_gateway if store == "wire" else embedded_gateway
    features = await gateway.app.state.db.features()
    assert (features.union_with, features.history_shape) == (False, "grouped")
    # and the grouped shape is the one the history sends there
    assert grouped_pipeline(key_field="member_id", keys=["m"], query={}, time_field="at",
                            paging=Paging(size=1))[2] == {
        "$group": {"_id": "$member_id", "docs": {"$push": "$$ROOT"}}}


class _Engine:
    """A database whose ``aggregate`` answers as a given engine would."""

    def __init__(self, answer: Exception | None) -> None:
        self.answer = answer

    def __getitem__(self, name: str) -> _Engine:
        return self

    async def aggregate(self, pipeline: list[Doc]) -> _Cursor:
        assert pipeline[1]["$unionWith"]["coll"] == "orders"
        if self.answer is not None:
            raise self.answer
        return _Cursor([])


async def test_only_an_unknown_stage_means_no_union() -> None:
    assert (await engine.probe(_Engine(None))).union_with is True
    unknown = OperationFailure("Unrecognized pipeline stage name: '$unionWith'", code=40324)
    assert (await engine.probe(_Engine(unknown))).union_with is False
    assert (await engine.probe(_Engine(NotImplementedError("$unionWith")))).union_with is False
    # any other refusal is an error, not a reason to read every document
    with pytest.raises(OperationFailure):
        await engine.probe(_Engine(OperationFailure("not authorized", code=13)))
