"""DataLoaders per request (gateway/loaders.py): a field cancelled by a sibling's error does not
fail the other fields that wait for the same key."""

from __future__ import annotations

from tests.support import Callers, gql

# Both lists load the same channels. In ``b`` every member fails (a bad cursor in a non-null
# field), so graphql-core cancels the member's other fields, among them ``homeChannel``,
# while ``a`` waits for the same channels.
SHARED = """{ a: members(first: 30) { edges { node { id homeChannel { id } } } }
  b: members(first: 30) { edges { node { id homeChannel { id }
     history(first: 1, after: "bm90IGEgY3Vyc29y") { edges { cursor } } } } } }"""


async def test_a_cancelled_field_does_not_cancel_a_shared_load(callers: Callers) -> None:
    body = await gql(callers.admin, SHARED)
    assert body["data"] is None  # b is non-null all the way up
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("BAD_USER_INPUT", ["b", "edges", 0, "node", "history"])]
