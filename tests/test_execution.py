"""The fast path for plain leaf fields answers exactly like graphql-core's ordinary path."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.execution import FastExecutionContext


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


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        return [
            Thing(id=strawberry.ID("t1"), name="a", colour=Colour.RED, maybe=None, broken="x"),
            Thing(id=strawberry.ID("t2"), name="b", colour=Colour.BLUE, maybe=3,
                  broken=None),  # type: ignore[arg-type]
        ]


QUERY = "{ things { id name colour maybe shout(loud: true) alias: name broken } }"


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
