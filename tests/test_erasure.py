"""eraseMember and exportMember, on both stores.

The export is walked against every collection the gateway declares an index for, seeds or
holds: each is exported or named as holding no member data, and every stored document that
names the person is in the export.

A person (a demo member with five identities, consent records and a year of orders and
visits, plus a member enrolled through the API with a phone, an e-mail and a rural outlet
identity, who paid for an order placed by that identity and was then merged into the first)
is exported, then erased. On the way the person's name and phone are typed into every
free-text input of the public mutations that stores text about a member (a refund's reason, a
return's and a written-off line's, a shipment's carrier and tracking number, a visit's, a
consent's and an identity's source); a walk of the schema's mutations fails on a free-text
input that is neither planted so nor named as storing nothing about a member. Afterwards no
route finds anything personal: search by phone, e-mail and name, memberByIdentity and node
with the old identities, node and _entities of the member, a walk of every root field of the
schema as an admin; no string (key or value) of any document of any collection holds any of
the person's data, and no request fingerprint of the person's writes remains; every other
value of the person's orders, events, refunds, returns, visits and payments is as it was.
Every aggregate (reach, sales, conversion, top products, footfall, cohorts, the member's
summaries, lifetime value, points, tier, history) is the same before and after."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLInputObjectType, GraphQLSchema, get_introspection_query, get_named_type
from graphql.utilities import build_client_schema

from gateway.commerce.erasure import EXPORTED, NOT_EXPORTED
from gateway.commerce.redaction import ERASED_TEXT
from gateway.database import seeding
from gateway.database.indexes import INDEXES
from tests.support import PARTNER_A, SEEDS, WritingGateway, data, fresh_gateway, gql
from tests.support.schema_walk import Pool, Walk

MEMBER = "mem_00005"
PHONE, EMAIL, NAME = "+86 139 1234 5678", "Zhao.Erasable@Example.com", "Zhao Erasable"
RURAL, DESK = "+86 139 1234 5678", "desk-card-0077"
SEED = next(m for m in SEEDS["members"] if m["_id"] == MEMBER)
IDENTITIES = [(i["channel_id"], i["external_id"]) for i in SEEDS["identities"]
              if i["member_id"] == MEMBER] + [("ch_villagelink", RURAL), ("ch_freshmart", DESK)]
# What a clerk types into every free-text input: the person's name and phone
TYPED = f"for {NAME}, call {PHONE}"
# What must not remain anywhere: names, phones (as given and E.164), e-mails (as given and
# lower-cased), external ids, and so every text typed about the person
PERSONAL = [SEED["name"], SEED["phone"], SEED["phone"].replace(" ", ""), SEED["email"],
            NAME, PHONE, PHONE.replace(" ", ""), EMAIL, EMAIL.lower(), "zhao erasable",
            *(ext for _, ext in IDENTITIES)]
# The free-text inputs of the mutations (input type and field, or Mutation.field.argument)
# that the fixture fills with personal data (personal data itself, or TYPED), as it does
PLANTED: set[str] = set()
# The other free-text inputs of the mutations, and why none stores text about a member
NOT_ABOUT_A_MEMBER = {
    "idempotencyKey": "a key of the caller's choosing, kept 48 hours with no input",
    "currency": "an ISO 4217 code", "MoneyInput.currencyCode": "an ISO 4217 code",
    "PlaceOrderInput.coupon": "a coupon code the campaign created",
    "Mutation.collectOrder.code": "the collection code the gateway made, compared only",
    "ImportOrderInput.externalId": "the till's own order id, an id like the order's",
    "Mutation.unlinkIdentity.externalId": "names an identity to delete; nothing stored",
    "Mutation.adjustStock.reason": "a stock movement, which names no member or order",
    "CreateTransferInput.note": "a transfer between locations, which names no member",
    "CreateCampaignInput.name": "a campaign: the brand's", "SaveSegmentInput.name":
        "a saved rule of a key's owner", "CreateCouponsInput.codes": "coupon codes",
    "CreateCouponsInput.prefix": "coupon codes",
}


def plant(where: str, value: str = TYPED) -> str:
    """``value``, typed into the free-text input ``where``."""
    PLANTED.add(where)
    return value


ENROL = """mutation($input: EnrolMemberInput!) { enrolMember(input: $input) {
  member { id } userErrors { code message } } }"""
PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id total { minorUnits } } userErrors { code } } }"""
PAY = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id } userErrors { code } } }"""
REFUND = """mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
  userErrors { code } } }"""
RETURN = """mutation($input: ReturnOrderInput!) { returnOrder(input: $input) {
  userErrors { code } } }"""
# a delivered order of the person, to return a unit of
DELIVERED = next(o for o in SEEDS["orders"]
                 if o["member_id"] == MEMBER and o["status"] == "COMPLETED")
CONSENT = """mutation($input: RecordConsentInput!) { recordConsent(input: $input) {
  userErrors { code } } }"""
MERGE = """mutation($s: ID!, $m: ID!) { mergeMembers(survivor: $s, merged: $m) {
  userErrors { code } } }"""
SHIP = """mutation($input: ShipOrderInput!) { shipOrder(input: $input) {
  userErrors { code } } }"""
VISIT = """mutation($input: RecordVisitInput!) { recordVisit(input: $input) {
  userErrors { code } } }"""
LINK = """mutation($m: ID!, $c: ID!, $e: String!, $s: String!) { linkIdentity(member: $m,
  channel: $c, externalId: $e, source: $s) { userErrors { code } } }"""
ERASE = """mutation($input: MemberDataInput!) { eraseMember(input: $input) {
  audit { action memberId by } member { id name phone email erasedAt identities { id } }
  userErrors { field code message } } }"""
EXPORT = """mutation($input: MemberDataInput!) { exportMember(input: $input) {
  export { id document audit { action memberId } } userErrors { code } } }"""
WINDOW = '(since: "2026-01-01T00:00:00Z", until: "2027-01-01T00:00:00Z")'
AGGREGATES = f"""{{
  omnichannelReach{WINDOW} {{ activeMembers byKindCount {{ kinds members }}
    channels {{ channel {{ id }} members }} kindOverlaps {{ first second members }}
    spendBase {{ amount }} multiKindSpendBase {{ amount }} }}
  channels {{ id sales{WINDOW[:-1]}, bucket: WEEK) {{ buckets {{ label orders units
      revenue {{ minorUnits }} revenueBase {{ minorUnits }} }} }}
    conversion{WINDOW} {{ visitors buyers convertedVisitors rate }}
    topProducts{WINDOW[:-1]}, first: 10) {{ byUnits {{ product {{ sku }} units }} }}
    locations {{ id footfall{WINDOW[:-1]}, bucket: WEEK) {{ buckets {{ label visits members
      anonymousVisits }} }} }} }}
  repeatPurchaseCohorts{WINDOW} {{ cohorts {{ label firstKind members returned
    periods {{ offset members byKind {{ kind members }} }} }} }}
  members(first: 1) {{ totalCount }}
  member(id: "{MEMBER}") {{ id tier points lifetimeValue {{ minorUnits }}
    channelSummaries {{ channel {{ id }} orderCount spendBase {{ minorUnits }} visitCount
      firstActivityAt lastActivityAt }}
    history(first: 100) {{ edges {{ node {{ __typename id at }} }} }}
    pointsLedger(first: 100) {{ edges {{ node {{ id delta }} }} }} }} }}"""


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "erasure"):
        client = gateway.client
        enrolled = await data(client, ENROL, {"input": {
            "name": plant("EnrolMemberInput.name", NAME),
            "phone": plant("EnrolMemberInput.phone", PHONE),
            "email": plant("EnrolMemberInput.email", EMAIL), "homeChannel": "ch_villagelink",
            "externalId": plant("EnrolMemberInput.externalId", RURAL),
            "source": plant("EnrolMemberInput.source"), "idempotencyKey": "erase-enrol"}})
        new = enrolled["enrolMember"]["member"]["id"]
        placed = await data(client, PLACE, {"input": {
            "channel": "ch_villagelink", "location": "loc_vl_anji",
            "identity": {"channel": "ch_villagelink",
                         "externalId": plant("IdentityInput.externalId", RURAL)},
            "lines": [{"sku": "sku_dried_mango_200g", "quantity": 1}],
            "idempotencyKey": "erase-order"}})
        order = placed["placeOrder"]["order"]
        paid = await data(client, PAY, {"input": {
            "order": order["id"], "amount": order["total"]["minorUnits"], "currency": "CNY",
            "method": "CASH", "idempotencyKey": "erase-pay"}})
        assert paid["recordPayment"]["userErrors"] == []
        # the order's life: shipped, part of that payment refunded, two units of a delivered
        # order returned (one restocked, one written off); a visit; a consent; an identity
        # linked at a desk
        assert (await data(client, SHIP, {"input": {
            "order": order["id"], "location": "loc_vl_anji",
            "carrier": plant("ShipOrderInput.carrier"),
            "trackingNumber": plant("ShipOrderInput.trackingNumber"),
            "idempotencyKey": "erase-ship"}}))["shipOrder"] == {"userErrors": []}
        assert (await data(client, REFUND, {"input": {
            "payment": paid["recordPayment"]["payment"]["id"], "amount": "100",
            "reason": plant("RefundPaymentInput.reason"),
            "idempotencyKey": "erase-refund"}}))["refundPayment"] == {"userErrors": []}
        assert (await data(client, RETURN, {"input": {
            "order": DELIVERED["_id"], "location": DELIVERED["location_id"],
            "lines": [{"sku": DELIVERED["lines"][0]["sku"], "quantity": 1},
                      {"sku": DELIVERED["lines"][1]["sku"], "quantity": 1,
                       "writeOffReason": plant("ReturnLineInput.writeOffReason")}],
            "reason": plant("ReturnOrderInput.reason"),
            "idempotencyKey": "erase-return"}}))["returnOrder"] == {"userErrors": []}
        assert (await data(client, VISIT, {"input": {
            "channel": "ch_villagelink", "location": "loc_vl_anji", "member": new,
            "kind": "STORE_VISIT", "source": plant("RecordVisitInput.source"),
            "idempotencyKey": "erase-visit"}}))["recordVisit"] == {"userErrors": []}
        assert (await data(client, CONSENT, {"input": {
            "member": new, "channel": "ch_villagelink", "purpose": "MARKETING",
            "granted": True, "source": plant("RecordConsentInput.source"),
            "idempotencyKey": "erase-consent"}}))["recordConsent"] == {"userErrors": []}
        assert (await data(client, LINK, {
            "m": new, "c": "ch_freshmart",
            "e": plant("Mutation.linkIdentity.externalId", DESK),
            "s": plant("Mutation.linkIdentity.source")}))["linkIdentity"] == {"userErrors": []}
        assert (await data(client, MERGE, {"s": MEMBER, "m": new}))["mergeMembers"] == {
            "userErrors": []}
        yield gateway


async def collections(gw: WritingGateway) -> set[str]:
    """The collections the database holds."""
    names = (gw.db.db._database.list_collection_names() if gw.kind == "embedded"
             else await gw.db.db.list_collection_names())
    return set(names)


def leaves(value: Any, at: str = "") -> Iterator[tuple[str, Any]]:
    """Every key (as a leaf of its own) and every scalar of a stored document, with its
    path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{at}{key}:key", key
            yield from leaves(item, f"{at}{key}.")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, f"{at}{i}.")
    else:
        yield at.rstrip("."), value


def free_text_inputs(schema: GraphQLSchema) -> set[str]:
    """Every String input of every mutation: ``Type.field`` of an input type, or
    ``Mutation.field.argument``."""
    found: set[str] = set()
    seen: set[str] = set()

    def walk(where: str, named: Any) -> None:
        if getattr(named, "name", None) == "String":
            found.add(where)
        elif isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            seen.add(named.name)
            for name, field in named.fields.items():
                walk(f"{named.name}.{name}", get_named_type(field.type))

    assert schema.mutation_type is not None
    for name, root in schema.mutation_type.fields.items():
        for arg, argument in root.args.items():
            walk(f"Mutation.{name}.{arg}", get_named_type(argument.type))
    return found


async def person_documents(gw: WritingGateway, members: list[str]) -> dict[str, Any]:
    """The person's orders, order events, refunds, returns, visits and payments, by id."""
    return {f"{name}:{d['_id']}": d for name in (
        "orders", "order_events", "refunds", "returns", "visits", "payments")
        for d in await gw.db[name].find({"member_id": {"$in": members}}).to_list(None)}


async def test_every_free_text_input_of_the_mutations_is_planted_or_about_no_member(
    gw: WritingGateway,
) -> None:
    schema = build_client_schema(await data(gw.client, get_introspection_query()))
    inputs = free_text_inputs(schema)
    assert {"RefundPaymentInput.reason", "Mutation.adjustStock.reason"} <= inputs
    left = {i for i in inputs - PLANTED - set(NOT_ABOUT_A_MEMBER)
            if i.rsplit(".", 1)[-1] not in NOT_ABOUT_A_MEMBER}
    # a new free-text input is planted by the fixture (and then must be erased) or named
    assert left == set()
    # and the fixture did plant each input it names, which the schema still has
    assert inputs >= PLANTED | (set(NOT_ABOUT_A_MEMBER) - {"idempotencyKey", "currency"})


async def test_the_export_holds_every_document_that_names_the_person(
    gw: WritingGateway,
) -> None:
    exported = await data(gw.client, EXPORT, {"input": {"member": MEMBER,
                                                        "idempotencyKey": "export-walk"}})
    stored = json.loads(exported["exportMember"]["export"]["document"])["collections"]
    assert list(stored) == list(EXPORTED)
    # every collection the gateway declares an index for, seeds or holds is exported or named
    # as holding no member data
    names = set(INDEXES) | set(seeding.COLLECTIONS) | await collections(gw)
    assert set(EXPORTED).isdisjoint(NOT_EXPORTED)
    assert names - set(EXPORTED) - set(NOT_EXPORTED) == set()
    # every stored document that names a member of the person is in the export; none of a
    # collection said to hold no member data names one
    person = re.compile("|".join(rf"\b{m['_id']}\b" for m in stored["members"]))
    assert len(stored["members"]) == 2
    naming: dict[str, set[str]] = {}
    for name in sorted(names):
        for doc in await gw.db[name].find({}).to_list(None):
            if person.search(json.dumps(doc, default=str)):
                naming.setdefault(name, set()).add(doc["_id"])
    assert {name: {d["_id"] for d in stored.get(name, [])} >= ids
            for name, ids in naming.items()} == dict.fromkeys(naming, True)
    # the order's life is among them: the refund, the return and their events, the rollups
    assert {"order_events", "refunds", "returns", "member_rollups", "idempotency"} <= set(
        naming)
    # with every text typed about the person
    assert {r["reason"] for r in stored["refunds"]} >= {TYPED}
    assert [(r["reason"], [x["write_off_reason"] for x in r["lines"]])
            for r in stored["returns"]] == [(TYPED, [None, TYPED])]
    assert [(s["carrier"], s["tracking_number"]) for o in stored["orders"]
            for s in o.get("shipments", []) if TYPED in s.values()] == [(TYPED, TYPED)]
    assert [e["shipment"]["carrier"] for e in stored["order_events"]
            if e["kind"] == "SHIPPED" and e["shipment"]["carrier"] == TYPED] == [TYPED]
    assert [v["source"] for v in stored["visits"] if v["source"] == TYPED] == [TYPED]
    assert {e["kind"] for e in stored["order_events"]} >= {"REFUNDED", "RETURNED", "SHIPPED"}
    assert {r["member_id"] for r in stored["member_rollups"]} == {
        m["_id"] for m in stored["members"]}


async def test_export_then_erase_leaves_nothing_personal_and_every_aggregate_exact(
    gw: WritingGateway,
) -> None:
    client = gw.client
    before = await data(client, AGGREGATES)
    members = [MEMBER, *(m["_id"] for m in await gw.db["members"].find(
        {"merged_into": MEMBER}).to_list(None))]
    documents = await person_documents(gw, members)
    # the export holds every stored document of the person, the merged member's too
    exported = await data(client, EXPORT, {"input": {"member": MEMBER,
                                                     "idempotencyKey": "export-1"}})
    document = json.loads(exported["exportMember"]["export"]["document"])
    stored = document["collections"]
    assert document["format"] == "omnigw-member-export/1" and document["memberId"] == MEMBER
    assert len(stored["members"]) == 2 and {(i["channel_id"], i["external_id"])
                                            for i in stored["identities"]} == set(IDENTITIES)
    assert {o["_id"] for o in stored["orders"]} == {
        o["_id"] for o in await gw.db["orders"].find(
            {"member_id": {"$in": [d["_id"] for d in stored["members"]]}}).to_list(None)}
    assert {"consents", "payments", "visits", "points_ledger", "merges", "audit",
            "member_keys"} <= set(stored)
    assert all(value in exported["exportMember"]["export"]["document"]
               for value in (SEED["name"], SEED["email"], NAME, EMAIL))
    # when the person is erased, twice with one key and once with another
    erase = {"input": {"member": MEMBER, "idempotencyKey": "erase-1"}}
    first = await gql(client, ERASE, erase)
    replay = await gql(client, ERASE, erase)
    assert replay["data"] == first["data"]
    # claim; the member and the merged one; the ids of its orders, payments, visits and
    # consent records, with the free text of the orders, visits, order events, refunds and
    # returns; then one command each: fingerprints, identities, merges, phone keys, consent
    # sources; the free text of order events, refunds, returns and visits, and of orders, in
    # one update per shape of change (the shipped order's shipment, the returned order's
    # written-off line); members, the audit entry; DONE; the payload: audit entry, member,
    # identities. A replay: claim, read the claim, then the payload.
    assert first["extensions"]["db"] == {"commands": 27, "byCollection": {
        "audit": 2, "consents": 2, "idempotency": 3, "identities": 2, "member_keys": 1,
        "members": 4, "merges": 1, "order_events": 2, "orders": 3, "payments": 1,
        "refunds": 2, "returns": 2, "visits": 2}}
    assert replay["extensions"]["db"] == {"commands": 5, "byCollection": {
        "audit": 1, "idempotency": 2, "identities": 1, "members": 1}}
    assert (await data(client, ERASE, {"input": {"member": MEMBER,
                                                 "idempotencyKey": "erase-2"}})
            )["eraseMember"]["userErrors"] == []
    erased = first["data"]["eraseMember"]
    assert erased["audit"] == {"action": "ERASE", "memberId": MEMBER, "by": "admin"}
    assert {k: v for k, v in erased["member"].items() if k != "erasedAt"} == {
        "id": MEMBER, "name": "Erased member", "phone": None, "email": None,
        "identities": []}
    # then every aggregate is what it was
    assert await data(client, AGGREGATES) == before
    # and no string of any document of any collection holds any of the person's data
    names = await collections(gw)
    assert {"members", "identities", "orders", "consents", "idempotency", "audit"} <= set(names)
    left = [(name, doc["_id"], at) for name in sorted(names)
            for doc in await gw.db[name].find({}).to_list(None)
            for at, value in leaves(doc)
            if isinstance(value, str) and any(p in value for p in PERSONAL)]
    assert left == []
    # while every other value of the person's orders, events, refunds, returns, visits and
    # payments is as it was: only texts became the marker (a restocked line keeps no reason)
    after = await person_documents(gw, members)
    assert after.keys() == documents.keys()
    changed: list[tuple[str, Any, Any]] = []
    for key, doc in documents.items():
        was, now = dict(leaves(doc)), dict(leaves(after[key]))
        assert was.keys() == now.keys(), key
        changed += [(key, was[at], now[at]) for at in was if was[at] != now[at]]
    assert [(key, old) for key, old, _ in changed if not isinstance(old, str)] == []
    assert {new for *_, new in changed} == {ERASED_TEXT}
    assert len({key for key, *_ in changed}) >= 5
    # and no request fingerprint of the person's writes remains
    writes = [d for d in await gw.db["idempotency"].find({}).to_list(None)
              if d["_id"].split(":")[-1].startswith("erase-")
              and d["_id"].split(":")[1] not in ("eraseMember", "exportMember")]
    assert len(writes) == 8
    assert [d["_id"] for d in writes if "fingerprint" in d] == []


async def test_no_route_finds_anything_personal_of_an_erased_member(gw: WritingGateway) -> None:
    await data(gw.client, ERASE, {"input": {"member": MEMBER, "idempotencyKey": "erase-r"}})
    answers: list[dict[str, Any]] = []

    async def ask(client: httpx.AsyncClient, query: str, variables: Any = None) -> Any:
        body = await gql(client, query, variables)
        answers.append(body)
        return body.get("data")

    search = """query($phone: String, $email: String, $name: String) { searchMembers(
      phone: $phone, email: $email, name: $name) { totalCount edges { node { id } } } }"""
    for phone in (SEED["phone"], PHONE):
        assert (await ask(gw.client, search, {"phone": phone}))["searchMembers"] == {
            "totalCount": "0", "edges": []}
    for email in (SEED["email"], EMAIL):
        assert (await ask(gw.client, search, {"email": email}))["searchMembers"][
            "edges"] == []
    for name in (SEED["name"], NAME):
        found = (await ask(gw.client, search, {"name": name}))["searchMembers"]["edges"]
        assert found == []
    by_identity = """query($c: ID!, $e: String!, $id: ID!) { memberByIdentity(channel: $c,
      externalId: $e) { id } node(id: $id) { id } }"""
    for channel, external in IDENTITIES:
        assert await ask(gw.client, by_identity, {"c": channel, "e": external,
                                                  "id": f"idn_{channel}:{external}"}) == {
            "memberByIdentity": None, "node": None}
    entities = """query($reps: [_Any!]!) { _entities(representations: $reps) {
      ... on Member { id name phone email } ... on Identity { id } } }"""
    reps = [{"__typename": "Member", "id": MEMBER}] + [
        {"__typename": "Identity", "channelId": c, "externalId": e} for c, e in IDENTITIES]
    assert (await ask(gw.client, entities, {"reps": reps}))["_entities"] == [
        {"id": MEMBER, "name": "Erased member", "phone": None, "email": None},
        *[None] * len(IDENTITIES)]
    # a partner that saw the person through its identity no longer sees the member
    key = await gw.gateway.key("erasure-partner", "partner", PARTNER_A)
    async with gw.gateway.client(key) as partner:
        assert (await ask(partner, "query($id: ID!) { member(id: $id) { id } }",
                          {"id": MEMBER})) == {"member": None}
    # every root field of the schema, read as an admin with every argument the walk can fill
    schema = build_client_schema(await ask(gw.client, get_introspection_query()))
    pool = Pool()
    for depth, page, variants in ((2, 20, False), (3, 3, True)):
        pool.page_size = page
        walk = Walk(schema, pool, depth=depth)
        query = schema.query_type
        assert query is not None
        for name, root in query.fields.items():
            bindings = walk.bindings(f"Query.{name}", root)
            if bindings is not None:
                pool.read(await ask(gw.client, *walk.document(query, name, bindings[0],
                                                               variants=variants)))
    assert len(answers) > 30
    leaks = [(p, json.dumps(a)[:200]) for a in answers for p in PERSONAL if p in json.dumps(a)]
    assert leaks == []


async def test_erasing_needs_an_admin_key_and_an_unknown_member_is_not_found(
    gw: WritingGateway,
) -> None:
    key = await gw.gateway.key("erasure-partner-2", "partner", PARTNER_A)
    async with gw.gateway.client(key) as partner:
        for mutation in (ERASE, EXPORT):
            body = await gql(partner, mutation, {"input": {"member": "mem_00002",
                                                           "idempotencyKey": "p"}})
            assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await gw.db["members"].find_one({"_id": "mem_00002", "erased_at": {
        "$exists": True}}) is None
    unknown = await data(gw.client, ERASE, {"input": {"member": "mem_99999",
                                                      "idempotencyKey": "u"}})
    assert unknown["eraseMember"] == {"audit": None, "member": None, "userErrors": [{
        "field": "member", "code": "NOT_FOUND", "message": "Unknown member mem_99999."}]}
