"""Partners write only within their channels; merges are an admin's decision.

Every request here is refused, so the shared seed database is left exactly as it was (the
test checks that too).
"""

from __future__ import annotations

from tests.support import PARTNER_A, SEEDS, Callers, gql

UNLINK = """mutation($ch: ID!, $ext: String!) { unlinkIdentity(channel: $ch, externalId: $ext) {
  identity { externalId } userErrors { field code message } } }"""
MERGE = """mutation { mergeMembers(survivor: "mem_00001", merged: "mem_00002") {
  merge { id } userErrors { code } } }"""
UNMERGE = """mutation { unmergeMembers(mergeId: "mrg_0123456789abcdef01234567") {
  merge { id } userErrors { code } } }"""
IDENTITY = """query($ch: ID!, $ext: String!) { memberByIdentity(channel: $ch, externalId: $ext) {
  id } }"""


async def test_a_partner_cannot_unlink_another_channels_identity(callers: Callers) -> None:
    # given an identity in a channel partner A does not have
    identity = next(i for i in SEEDS["identities"] if i["channel_id"] not in PARTNER_A)
    variables = {"ch": identity["channel_id"], "ext": identity["external_id"]}
    # when partner A tries to unlink it
    body = await gql(callers.partner_a, UNLINK, variables)
    # then it is refused as if the channel did not exist, and the identity stays
    assert body["data"]["unlinkIdentity"] == {"identity": None, "userErrors": [{
        "field": "channel", "code": "NOT_FOUND",
        "message": f"Unknown channel {identity['channel_id']}."}]}
    still = await gql(callers.admin, IDENTITY, variables)
    assert still["data"] == {"memberByIdentity": {"id": identity["member_id"]}}


async def test_merges_need_an_admin_key(callers: Callers) -> None:
    for client in (callers.partner_a, callers.partner_b):
        for mutation, field in ((MERGE, "mergeMembers"), (UNMERGE, "unmergeMembers")):
            body = await gql(client, mutation)
            assert body["data"] is None
            assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
                ("FORBIDDEN", [field])]
    members = await gql(callers.admin, '{ a: member(id: "mem_00002") { id } }')
    assert members["data"] == {"a": {"id": "mem_00002"}}  # not merged into mem_00001


