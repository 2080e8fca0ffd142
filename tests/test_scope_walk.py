"""A partner reads nothing of other channels on any path: a walk of the whole schema, on the
wire server and on the embedded store.

Over the world of tests/support/scope_world.py (merges, ledgers, other channels' activity of shared
members), the walk (tests/support/schema_walk.py):

1. introspects the schema and reads, as an admin, every root field, to fill a pool of values:
   ids of every kind, the cursors of each list, time windows, leaf values;
2. sends, with the partner's key, for every root field of Query and every binding of its
   arguments (each id of the kind an argument takes, of the partner's channels and of
   others', each optional argument and input field, each enum value, each window, two
   cursors of that list) one document selecting every field to depth 4 (interfaces and unions
   through every possible type, connections through their edges), and per root field one
   document with every binding of every nested field's arguments;
3. subscribes, with the partner's key, to every Subscription field with every binding, then
   sends, with the partner's key, every Mutation field with every binding (ids: one of its
   channels', one of others', one of the world's; payloads to depth 3), and writes, as an
   admin, activity of the shared members in the partner's channels and others';
4. fails on any id of another channel's record, any personal datum or other channel's
   identity, any other key's name, in data, errors or extensions of any answer or event, and
   in any string that decodes as a cursor (tests/support/scope_oracle.py).

Coverage: every field of every type reachable from Query must be reached in the partner's
answers (present on an object of that type); so must every field only mutations and
subscriptions reach, except those listed in UNREACHED with why. Every entry of that list must
exist and stay unreached. A field added later is walked without editing this test.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    build_client_schema,
    get_introspection_query,
    is_non_null_type,
    is_object_type,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.support import data, gql
from tests.support.schema_walk import Pool, Walk, field_name
from tests.support.scope_oracle import Oracle
from tests.support.scope_world import ADMIN_KEY, PARTNER, PARTNER_KEY, World, activity, served_world

# Fields only mutations or subscriptions reach that a partner's answers cannot, with why.
ADMIN_ONLY = "mergeMembers and unmergeMembers need an admin key: a partner gets FORBIDDEN and no "\
    "payload (tests/test_write_scope.py)"
PRIVACY_ONLY = "eraseMember and exportMember need an admin key: a partner gets FORBIDDEN and "\
    "no payload (tests/test_erasure.py)"
BRAND_ONLY = "campaigns, coupons and exchange rates are the brand's: a partner gets FORBIDDEN "\
    "and no payload (tests/test_promotions.py)"
UNREACHED: dict[str, str] = {
    "Mutation.mergeMembers": ADMIN_ONLY,
    "Mutation.unmergeMembers": ADMIN_ONLY,
    "MergePayload.merge": ADMIN_ONLY,
    "MergePayload.merged": ADMIN_ONLY,
    "MergePayload.survivor": ADMIN_ONLY,
    "MergePayload.userErrors": ADMIN_ONLY,
    **{f"{t}.{f}": PRIVACY_ONLY for t, fields in (
        ("Mutation", ("eraseMember", "exportMember")),
        ("ErasePayload", ("audit", "member", "userErrors")),
        ("ExportPayload", ("export", "userErrors")),
        ("MemberExport", ("id", "generatedAt", "document", "audit")),
        ("AuditEntry", ("id", "action", "memberId", "by", "at"))) for f in fields},
    "Mutation.createCampaign": BRAND_ONLY,
    "Mutation.createCoupons": BRAND_ONLY,
    "Mutation.setFxRate": BRAND_ONLY,
    "CreateCampaignPayload.campaign": BRAND_ONLY,
    "CreateCampaignPayload.userErrors": BRAND_ONLY,
    "CreateCouponsPayload.coupons": BRAND_ONLY,
    "CreateCouponsPayload.userErrors": BRAND_ONLY,
    "SetFxRatePayload.fxRate": BRAND_ONLY,
    "SetFxRatePayload.userErrors": BRAND_ONLY,
}


@dataclass
class Walked:
    """What the partner's walk sent and found."""

    documents: int = 0
    seconds: float = 0.0
    leaks: list[str] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)
    from_query: set[str] = field(default_factory=set)
    beyond_query: set[str] = field(default_factory=set)  # only mutations, subscriptions
    in_schema: set[str] = field(default_factory=set)  # every field of every object type
    errors: dict[str, int] = field(default_factory=dict)  # extensions.code -> count
    later: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def answer(self, where: str, sent: str, body: dict[str, Any], oracle: Oracle | None,
               root: str) -> None:
        """Count an answer; scan it now, or once the writes are done (``oracle`` None)."""
        self.documents += 1
        if oracle is None:
            self.later.append((where, sent, body))
        else:
            self.leaks += [f"{where}: {leak}" for leak in oracle.leaks(body, request=sent)]
        reach(body.get("data"), root, self.reached)
        for error in body.get("errors") or []:
            code = error.get("extensions", {}).get("code", "?")
            self.errors[code] = self.errors.get(code, 0) + 1


def reach(value: Any, typename: str, reached: set[str]) -> None:
    """Add every ``Type.field`` present in an answer to ``reached``."""
    if isinstance(value, list):
        for item in value:
            reach(item, typename, reached)
    elif isinstance(value, dict):
        own_type = value.get("__typename", typename)
        for key, item in value.items():
            if key != "__typename":
                reached.add(f"{own_type}.{field_name(key)}")
                reach(item, own_type, reached)


def sampler(oracle: Oracle, designated: list[str], most: int = 7) -> Any:
    """Ids to try: the partner's, others' and the world's (up to 2, 2 and 3), taken in turn
    (so the first few of any kind hold one of each), at most ``most``."""
    def choose(prefix: str, ids: list[str]) -> list[str]:
        world = [i for i in designated if i.startswith(prefix) and i in ids][:3]
        mine = [i for i in ids if i in oracle.own_ids.get(prefix, set()) and i not in world]
        theirs = [i for i in ids if i in oracle.foreign_ids and i not in world]
        turns = itertools.zip_longest(mine[:2], theirs[:2], world)
        return [i for turn in turns for i in turn if i is not None][:most] or ids[:2]
    return choose


async def introspect(client: httpx.AsyncClient) -> GraphQLSchema:
    answer: Any = await data(client, get_introspection_query(descriptions=True))
    return build_client_schema(answer)


async def harvest(admin: httpx.AsyncClient, schema: GraphQLSchema, pool: Pool,
                  choose: Any) -> None:
    """Read every root field as an admin: first wide (20 per list), then deep, with every
    binding of the nested fields' arguments (stock at other channels' locations, say)."""
    query = schema.query_type
    assert query is not None
    for depth, page, variants in ((2, 20, False), (3, 3, True)):
        pool.page_size = page
        walk = Walk(schema, pool, depth=depth, choose_ids=choose)
        for name, root_field in query.fields.items():
            bindings = walk.bindings(f"Query.{name}", root_field)
            if bindings is not None:
                document = walk.document(query, name, bindings[0], variants=variants)
                pool.read((await gql(admin, *document)).get("data"))


def required(root: GraphQLObjectType, name: str) -> set[str]:
    return {a for a, arg in root.fields[name].args.items()
            if is_non_null_type(arg.type) and arg.default_value is Undefined}


async def walk_queries(partner: httpx.AsyncClient, walk: Walk, oracle: Oracle,
                       result: Walked) -> None:
    query = walk.schema.query_type
    assert query is not None
    for name, root_field in query.fields.items():
        bindings = walk.bindings(f"Query.{name}", root_field)
        assert bindings is not None, f"cannot fill the arguments of Query.{name}"
        documents = [walk.document(query, name, bindings[0], variants=True)]
        for binding in bindings:
            # a binding that names another object is walked deep; one that only narrows a
            # list (a filter, a cursor, an enum) is checked at the list's own level
            deep = binding is bindings[0] or any(
                binding.get(a) != bindings[0].get(a) for a in required(query, name))
            documents.append(walk.document(query, name, binding, shallow=not deep))
        for document, variables in documents:
            body = await gql(partner, document, variables)
            result.answer(f"Query.{name}", f"{document} {json.dumps(variables)}", body, oracle,
                          "Query")


async def walk_mutations(client: httpx.AsyncClient, walk: Walk, result: Walked) -> None:
    """Every mutation with every binding; the answers are kept in ``result``."""
    mutation = walk.schema.mutation_type
    assert mutation is not None
    for name, mutation_field in mutation.fields.items():
        count = len(walk.bindings(f"Mutation.{name}", mutation_field) or [])
        for index in range(count):
            walk.refresh()  # new fresh strings: each document its own idempotency key
            bindings = walk.bindings(f"Mutation.{name}", mutation_field)
            assert bindings is not None
            document, variables = walk.document(mutation, name, bindings[index],
                                                operation="mutation")
            body = await gql(client, document, variables)
            result.answer(f"Mutation.{name}", f"{document} {json.dumps(variables)}", body,
                          None, "Mutation")


class Subscriptions:
    """Every subscription with every binding, on one graphql-transport-ws socket."""

    def __init__(self, ws: ClientConnection, sent: dict[str, str]) -> None:
        self.ws, self.sent = ws, sent

    @classmethod
    async def open(cls, world: World, walk: Walk) -> Subscriptions:
        key = f"Bearer {world.keys[PARTNER_KEY]}"
        ws = await connect(world.url.replace("http", "ws") + "/graphql",
                           subprotocols=[Subprotocol("graphql-transport-ws")],
                           additional_headers={"Authorization": key})
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": key}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        subscription = walk.schema.subscription_type
        assert subscription is not None
        sent = {}
        for name, subscription_field in subscription.fields.items():
            bindings = walk.bindings(f"Subscription.{name}", subscription_field)
            assert bindings is not None, f"cannot fill the arguments of Subscription.{name}"
            for n, binding in enumerate(bindings):
                document, variables = walk.document(subscription, name, binding,
                                                    operation="subscription")
                sent[f"{name}-{n}"] = f"{document} {json.dumps(variables)}"
                await ws.send(json.dumps({"id": f"{name}-{n}", "type": "subscribe", "payload": {
                    "query": document, "variables": variables}}))
        return cls(ws, sent)

    async def drain(self, result: Walked, *, quiet: float) -> None:
        """Keep every message until none came for ``quiet`` seconds; then close."""
        while True:
            try:
                async with asyncio.timeout(quiet):
                    message = json.loads(await self.ws.recv())
            except TimeoutError:
                break
            op = message.get("id", "")
            name = op.rsplit("-", 1)[0]
            if message["type"] == "next":
                body = message["payload"]
            elif message["type"] == "error":
                body = {"errors": message["payload"]}
            else:
                continue
            result.answer(f"Subscription.{name}", self.sent.get(op, ""), body, None,
                          "Subscription")
        await self.ws.close()


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def walked(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[Walked]:
    async for world in served_world(request.param, seeded):
        started = time.monotonic()
        oracle = await Oracle.read(world.db, channels=frozenset(PARTNER), own_key=PARTNER_KEY)
        schema = await introspect(world.admin)
        pool = Pool()
        choose = sampler(oracle, world.designated)
        await harvest(world.admin, schema, pool, choose)
        pool.page_size = 3
        walk = Walk(schema, pool, depth=4, choose_ids=choose, withheld=oracle.withheld)
        result = Walked(
            from_query=set(walk.reachable(schema.query_type)),  # type: ignore[arg-type]
            in_schema={f"{t.name}.{f}" for t in schema.type_map.values()
                       if is_object_type(t) and not t.name.startswith("__") for f in t.fields})
        await walk_queries(world.partner, walk, oracle, result)
        # writes never send others' secrets as the partner's own data (an identity of another
        # channel linked in its own would be its own, and the walk could not tell)
        shallow = Walk(schema, pool, depth=3, choose_ids=sampler(oracle, world.designated, 3),
                       withheld=oracle.not_its_own)
        for root in (schema.mutation_type, schema.subscription_type):
            assert root is not None
            result.beyond_query |= set(shallow.reachable(root)) - result.from_query
        live = await Subscriptions.open(world, shallow)
        await walk_mutations(world.partner, shallow, result)
        await activity(world.admin, "live")
        await live.drain(result, quiet=1.0)
        oracle = await Oracle.read(world.db, channels=frozenset(PARTNER), own_key=PARTNER_KEY)
        for where, sent, body in result.later:
            result.leaks += [f"{where}: {leak}" for leak in oracle.leaks(
                body, request=sent, echoes=where.startswith("Mutation."))]
        result.seconds = time.monotonic() - started
        assert ADMIN_KEY in oracle.exact  # the key names are among what must not show
        yield result


async def test_a_partner_reads_nothing_of_other_channels_on_any_path(walked: Walked) -> None:
    assert walked.leaks == []
    print(f"\n{walked.documents} answers in {walked.seconds:.1f} s; errors {walked.errors}")


async def test_the_walk_reaches_every_field_reachable_from_query(walked: Walked) -> None:
    assert sorted(walked.from_query - walked.reached) == []
    print(f"\ncoverage from Query: {len(walked.from_query & walked.reached)} of "
          f"{len(walked.from_query)} fields")


async def test_mutations_and_subscriptions_reach_the_fields_only_they_reach(
    walked: Walked,
) -> None:
    assert set(UNREACHED) <= walked.beyond_query, set(UNREACHED) - walked.beyond_query
    assert not set(UNREACHED) & walked.reached, set(UNREACHED) & walked.reached
    assert sorted(walked.beyond_query - walked.reached) == sorted(UNREACHED), sorted(
        walked.beyond_query - walked.reached)
    assert walked.in_schema == walked.from_query | walked.beyond_query  # no type left out
    print(f"\ncoverage beyond Query (mutation payloads, subscriptions): "
          f"{len(walked.beyond_query & walked.reached)} of {len(walked.beyond_query)} fields; "
          f"in all: {len(walked.in_schema & walked.reached)} of {len(walked.in_schema)} fields "
          "in the schema")
