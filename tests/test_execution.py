"""The fast path for plain fields (leaves, objects, ``__typename``) answers exactly like
graphql-core's ordinary path, errors and null propagation included, and subscription events do
not pile up in its caches."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import Enum
from typing import Annotated, Any

import pytest
import strawberry
from strawberry.types import ExecutionResult

from resolvers.relations import relation_field
from resolvers.schema.execution import FastExecutionContext


@strawberry.enum(description="A colour.")
class Colour(Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type(description="A thing.")
class Thing:
    id: strawberry.ID
    name: str
    colour: Colour
    maybe: int | None
    broken: str

    @strawberry.field
    def shout(self, loud: bool = False) -> str:
        return self.name.upper() if loud else self.name


@strawberry.type(description="Two things, as plain attributes (no resolvers).")
class Pair:
    first: Thing
    second: Thing | None
    label: str


def thing(n: int, broken: str | None = "x") -> Thing:
    return Thing(id=strawberry.ID(f"t{n}"), name="ab"[n % 2], colour=Colour.RED, maybe=None,
                 broken=broken)  # type: ignore[arg-type]


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        return [
            Thing(id=strawberry.ID("t1"), name="a", colour=Colour.RED, maybe=None, broken="x"),
            Thing(id=strawberry.ID("t2"), name="b", colour=Colour.BLUE, maybe=3,
                  broken=None),  # type: ignore[arg-type]
        ]

    @strawberry.field
    def pairs(self) -> list[Pair | None]:
        return [
            Pair(first=thing(1), second=None, label="plain"),
            Pair(first=thing(2), second=thing(3, broken=None), label="nullable object broken"),
            Pair(first=thing(4, broken=None), second=thing(5), label="non-null object broken"),
            Pair(first=None, second=thing(6), label="non-null object missing"),  # type: ignore[arg-type]
        ]


QUERY = "{ things { id name colour maybe shout(loud: true) alias: name broken } }"
PAIRS = """{ pairs { __typename label kind: __typename
  first { __typename id broken } second { id name broken } } }"""


def test_fast_and_default_execution_give_identical_results() -> None:
    fast = strawberry.Schema(query=Query, execution_context_class=FastExecutionContext)
    default = strawberry.Schema(query=Query)
    got, expected = fast.execute_sync(QUERY), default.execute_sync(QUERY)
    assert got.data == expected.data
    assert got.data == {"things": [{"id": "t1", "name": "a", "colour": "RED", "maybe": None,
                                    "shout": "A", "alias": "a", "broken": "x"}, None]}
    assert [(e.message, e.path) for e in got.errors or []] == [
        (e.message, e.path) for e in expected.errors or []
    ]
    assert expected.errors and expected.errors[0].path == ["things", 1, "broken"]


def test_object_fields_and_their_errors_match_the_default_execution() -> None:
    fast = strawberry.Schema(query=Query, execution_context_class=FastExecutionContext)
    default = strawberry.Schema(query=Query)
    got, expected = fast.execute_sync(PAIRS), default.execute_sync(PAIRS)
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or []] == [
        (e.message, e.path) for e in expected.errors or []
    ]
    # a broken leaf nulls its nullable object; in a non-null object it nulls the pair
    assert got.data == {"pairs": [
        {"__typename": "Pair", "label": "plain", "kind": "Pair",
         "first": {"__typename": "Thing", "id": "t1", "broken": "x"}, "second": None},
        {"__typename": "Pair", "label": "nullable object broken", "kind": "Pair",
         "first": {"__typename": "Thing", "id": "t2", "broken": "x"}, "second": None},
        None,
        None,
    ]}
    assert [e.path for e in got.errors or []] == [
        ["pairs", 1, "second", "broken"], ["pairs", 2, "first", "broken"], ["pairs", 3, "first"]]


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def things(self, count: int) -> AsyncGenerator[Thing, None]:
        for i in range(count):
            yield Thing(id=strawberry.ID(f"t{i}"), name="a", colour=Colour.RED, maybe=i,
                        broken="x")


async def test_subscription_events_leave_no_cache_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    # given an executor per event, watched as graphql-core builds them
    executors: list[Any] = []
    build = FastExecutionContext.build_per_event_executor

    def watched(self: FastExecutionContext, payload: Any) -> Any:
        executors.append(build(self, payload))
        return executors[-1]

    monkeypatch.setattr(FastExecutionContext, "build_per_event_executor", watched)
    schema = strawberry.Schema(query=Query, subscription=Subscription,
                               execution_context_class=FastExecutionContext)
    # when a subscription sends 300 events with nested fields
    stream = await schema.subscribe("subscription { things(count: 300) { id name maybe } }")
    assert not isinstance(stream, ExecutionResult)
    events = [result.data async for result in stream]  # type: ignore[union-attr]
    # then every event was answered, and the caches an event fills are its own: the last
    # event's hold one event's entries, not 300 events' worth
    assert len(events) == 300 and events[-1] == {"things": {"id": "t299", "name": "a",
                                                            "maybe": 299}}
    assert len(executors) == 300
    last = executors[-1]
    assert len(last._relevant_sub_fields) <= 1
    assert len(last._plans) <= 2
    assert last._relevant_sub_fields is not executors[0]._relevant_sub_fields


async def _later(thing: Thing) -> Thing:
    return thing


@strawberry.type(description="An object with relations: loaded, pending, missing, failing.")
class Linked:
    label: str

    @relation_field(description="Loaded: answers at once.", graphql_type=Thing | None)
    def near(self, info: strawberry.Info) -> Any:
        info.context["calls"].append(("near", self.label))
        return thing(1)

    @relation_field(description="Not loaded yet: an awaitable.", graphql_type=Thing | None)
    def far(self, info: strawberry.Info) -> Any:
        info.context["calls"].append(("far", self.label))
        return _later(thing(2))

    @relation_field(description="Nothing there.", graphql_type=Thing | None)
    def none(self, info: strawberry.Info) -> Any:
        return None

    @relation_field(description="Fails; nullable.", graphql_type=Thing | None)
    def bad(self, info: strawberry.Info) -> Any:
        raise ValueError(f"bad {self.label}")

    @relation_field(description="Fails when asked; non-null.", graphql_type=Thing)
    def must(self, info: strawberry.Info) -> Any:
        if self.label == "broken":
            raise ValueError("must")
        return thing(3, broken=None if self.label == "leaf" else "x")


@strawberry.type
class LinkedQuery:
    @strawberry.field
    def linked(self) -> list[Linked | None]:
        return [Linked(label="ok"), Linked(label="leaf"), Linked(label="broken")]


LINKED = """{ linked { label near { id name } far { id } none { id } bad { id }
  must { id broken } } }"""


async def test_relations_answer_like_the_default_execution_errors_included() -> None:
    # given the same schema run by the fast path and by graphql-core's own
    results = {}
    calls: dict[str, list[tuple[str, str]]] = {}
    for name, context_class in [("fast", FastExecutionContext), ("default", None)]:
        schema = strawberry.Schema(query=LinkedQuery, execution_context_class=context_class)
        calls[name] = []
        # when a list of objects resolves its relations: loaded, pending, null, failing
        results[name] = await schema.execute(LINKED, context_value={"calls": calls[name]})
    got, expected = results["fast"], results["default"]
    # then the answers, the errors and their paths are the same
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or []] == [
        (e.message, e.path) for e in expected.errors or []]
    assert got.data == {"linked": [
        {"label": "ok", "near": {"id": "t1", "name": "b"}, "far": {"id": "t2"}, "none": None,
         "bad": None, "must": {"id": "t3", "broken": "x"}},
        None,  # must's non-null broken leaf nulls the non-null must, so the item
        None,  # must raised
    ]}
    assert sorted(e.path for e in got.errors or []) == sorted([
        ["linked", 0, "bad"], ["linked", 1, "bad"], ["linked", 1, "must", "broken"],
        ["linked", 2, "bad"], ["linked", 2, "must"]])
    # and a pending relation is asked again on the ordinary path; a loaded one once
    assert calls["fast"].count(("near", "ok")) == 1
    assert calls["fast"].count(("far", "ok")) == 2
    assert calls["default"].count(("far", "ok")) == 1


@strawberry.interface(description="A shape.")
class Shape:
    name: str


@strawberry.type(description="A round shape.")
class Circle(Shape):
    radius: int


@strawberry.type(description="A square shape.")
class Square(Shape):
    side: int


@strawberry.type(description="Shapes held as plain attributes: interface and union typed.")
class Holder:
    shape: Shape
    maybe: Shape | None
    either: Annotated[Circle | Square, strawberry.union("Either")]


@strawberry.type
class ShapeQuery:
    @strawberry.field
    def holders(self) -> list[Holder | None]:
        return [
            Holder(shape=Circle(name="c", radius=1), maybe=None, either=Square(name="s", side=2)),
            Holder(shape=Square(name="s", side=3), maybe=Circle(name="c", radius=None),  # type: ignore[arg-type]
                   either=Circle(name="c", radius=4)),
            Holder(shape=Square(name="s", side=None), maybe=None,  # type: ignore[arg-type]
                   either=Circle(name="c", radius=5)),
        ]


SHAPES = """{ holders {
  shape { __typename name ... on Circle { radius } ... on Square { side } }
  maybe { __typename ... on Circle { radius } }
  either { __typename ... on Circle { radius } ... on Square { side name } } } }"""


async def test_interfaces_and_unions_resolve_like_the_default_execution() -> None:
    fast = strawberry.Schema(query=ShapeQuery, execution_context_class=FastExecutionContext)
    default = strawberry.Schema(query=ShapeQuery)
    got, expected = await fast.execute(SHAPES), await default.execute(SHAPES)
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or []] == [
        (e.message, e.path) for e in expected.errors or []]
    assert got.data == {"holders": [
        {"shape": {"__typename": "Circle", "name": "c", "radius": 1}, "maybe": None,
         "either": {"__typename": "Square", "side": 2, "name": "s"}},
        {"shape": {"__typename": "Square", "name": "s", "side": 3}, "maybe": None,
         "either": {"__typename": "Circle", "radius": 4}},
        None,  # a non-null side missing under the non-null shape nulls the holder
    ]}
    assert [e.path for e in got.errors or []] == [
        ["holders", 1, "maybe", "radius"], ["holders", 2, "shape", "side"]]
