"""Relations resolved from loaded values (resolvers/relations.py): a page's relations are
loaded before its items are resolved, in the same commands, and only those the query selects;
its items' relation fields then answer without a task each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.context import Context, make_context
from gateway.database import Database, connect
from gateway.database.scope import ADMIN
from resolvers.schema import Schema, build_schema
from tests.support import wire_settings

MEMBER = "mem_00003"  # orders with lines and payments, visits in stores, in several channels

HISTORY = """query($id: ID!, $first: Int!%s) { member(id: $id) {
  history(first: $first) { edges { node { __typename %s } } } } }"""


FRAGMENT = " fragment F on Activity { channel { id } ... on Order { lines { product { id } } } }"


def history(selection: str) -> str:
    return HISTORY % (", $skip: Boolean!" if "$skip" in selection else "", selection)


@pytest.fixture(scope="module")
def schema() -> Schema:
    return build_schema()


@pytest.fixture
async def db(seeded: str) -> AsyncIterator[Database]:
    database = connect(wire_settings(seeded))
    await database.features()  # as the application's start-up does: not counted below
    yield database
    await database.close()


@pytest.fixture
async def tasks() -> AsyncIterator[list[str]]:
    """The asyncio tasks of GraphQL execution (graphql-core's, strawberry's, the resolvers')
    created while the test runs; the database driver's and the loaders' batches are not
    counted."""
    loop = asyncio.get_running_loop()
    created: list[str] = []
    previous = loop.get_task_factory()

    def factory(loop_: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        code = getattr(coro, "cr_code", None)
        source = code.co_filename if code is not None else ""
        if any(part in source for part in ("/graphql/", "/strawberry/schema", "/resolvers/")):
            created.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop_, **kwargs)

    loop.set_task_factory(factory)
    yield created
    loop.set_task_factory(previous)


async def run(schema: Schema, db: Database, query: str, **variables: Any) -> tuple[Any, Context]:
    context = make_context(db, wire_settings("mongodb://unused", max_cost=100_000), ADMIN)
    result = await schema.execute(query, variable_values=variables, context_value=context)
    assert not result.errors, result.errors
    return result.data, context


@pytest.mark.parametrize(("selection", "commands"), [
    ("at", 5),  # the member, then orders, payments, visits and order events
    ("channel { id }", 6),  # + channels
    ("location { name }", 6),  # + locations
    ("location @skip(if: $skip) { name }", 5),  # left out: not loaded
    ("location @include(if: $skip) { name }", 6),
    ("... on Order { lines { quantity } }", 5),  # lines are in the order
    ("... on Order { lines { product { name } } }", 6),  # + products
    ("... on Order { payments { id } }", 6),  # + payments by order
    ("...F", 7),  # through a fragment: + channels + products
])
async def test_a_page_loads_the_relations_it_selects_and_no_other(
    schema: Schema, db: Database, selection: str, commands: int
) -> None:
    query = history(selection)
    if "...F" in selection:
        query += FRAGMENT
    data, context = await run(schema, db, query, id=MEMBER, first=20,
                              **({"skip": True} if "$skip" in selection else {}))
    assert len(data["member"]["history"]["edges"]) == 20
    assert context.stats.commands == commands


async def test_relations_are_the_loaded_documents(schema: Schema, db: Database) -> None:
    selection = """channel { id name } location { id name }
      ... on Order { lines { sku product { sku name } } payments { id } }"""
    data, _ = await run(schema, db, history(selection), id=MEMBER, first=20)
    nodes = [edge["node"] for edge in data["member"]["history"]["edges"]]
    channels = {c["_id"]: c for c in await db["channels"].find().to_list(None)}
    locations = {loc["_id"]: loc for loc in await db["locations"].find().to_list(None)}
    products = {p["_id"]: p for p in await db["products"].find().to_list(None)}
    orders = [n for n in nodes if n["__typename"] == "Order"]
    assert orders and any(n["location"] for n in nodes)
    for node in nodes:
        assert node["channel"]["name"] == channels[node["channel"]["id"]]["name"]
        if node["location"] is not None:
            assert node["location"]["name"] == locations[node["location"]["id"]]["name"]
    for order in orders:
        assert [(line["sku"], line["product"]) for line in order["lines"]] == [
            (line["sku"], {"sku": line["sku"], "name": products[line["sku"]]["name"]})
            for line in order["lines"]]
        assert order["payments"]  # each seeded order of this member is paid


MEMBERS = """query($first: Int!) { members(first: 10) { edges { node {
  channelSummaries { channel { id } }
  history(first: $first) { edges { node { at channel { id } location { id name }
    ... on Order { total { amount } lines { quantity product { name } } payments { id } } } } }
} } } }"""


async def test_longer_pages_create_no_more_tasks(
    schema: Schema, db: Database, tasks: list[str]
) -> None:
    created, activities = [], []
    for first in (1, 40):
        tasks.clear()
        data, _ = await run(schema, db, MEMBERS, first=first)
        activities.append(sum(len(m["node"]["history"]["edges"])
                              for m in data["members"]["edges"]))
        created.append(len(tasks))
    assert activities[0] == 10 and activities[1] > 200
    assert created[0] == created[1] > 0  # those of the members' own fields, not per activity
