"""Saved segments: counts and pages against an independent computation in plain Python over
the demo data, partner scope, consent, batching (command counts) and the writes.

The oracle below reads the seed files only and applies the rules as docs/members.md states
them, from the raw orders, visits, identities and consent records (not the member documents'
consent state, which the gateway matches on), one member at a time."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import PARTNER_A, SEEDS, Callers, WritingGateway, data, fresh_gateway, gql

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
R_DAYS, F_ORDERS, M_UNITS = (30, 90, 180, 365), (20, 10, 5, 2), (10_000, 5_000, 2_000, 500)
KIND = {c["_id"]: c["kind"] for c in SEEDS["channels"]}


def score(value: Any, thresholds: tuple[Any, ...]) -> int:
    return next((5 - n for n, t in enumerate(thresholds) if value >= t), 1)


def window(rule: dict[str, Any] | None, as_of: datetime) -> tuple[datetime, datetime]:
    rule = rule or {}
    if rule.get("within_days"):
        return as_of - timedelta(days=rule["within_days"]), as_of
    start = rule.get("since") or datetime.min.replace(tzinfo=UTC)
    return start, min(rule.get("until") or as_of, as_of)


def expected(segment: dict[str, Any], *, channels: tuple[str, ...] | None,
             as_of: datetime = AS_OF, merged: dict[str, str] | None = None,
             tiers: dict[str, str] | None = None) -> list[str]:
    """The members of a seeded segment, computed from the raw records; ``merged`` maps a
    merged member to its survivor (whose activity and consent it adds to), ``tiers`` gives
    tiers that changed."""
    rules, purpose = segment["definition"], segment["purpose"]
    mine = set(channels or KIND)
    merged = merged or {}
    person = {m["_id"]: merged.get(m["_id"], m["_id"]) for m in SEEDS["members"]}
    consent: dict[tuple[str, str, str], bool] = {}
    for record in sorted(SEEDS["consents"], key=lambda r: (r["at"], r["_id"])):
        consent[(record["member_id"], record["channel_id"], record["purpose"])] = (
            record["granted"])
    visible = {person[i["member_id"]] for i in SEEDS["identities"] if i["channel_id"] in mine}
    orders, visits = defaultdict(list), defaultdict(list)
    for o in SEEDS["orders"]:
        if o["status"] != "CANCELLED" and o["placed_at"] < as_of and o["channel_id"] in mine:
            orders[person[o["member_id"]]].append(o)
    for v in SEEDS["visits"]:
        if v["member_id"] and v["at"] < as_of and v["channel_id"] in mine:
            visits[person[v["member_id"]]].append(v)
    found = []
    for member in SEEDS["members"]:
        m = member["_id"]
        if m in merged:
            continue
        cluster = [m, *(k for k, v in merged.items() if v == m)]
        if not any(consent.get((c, ch, purpose)) for ch in mine for c in cluster):
            continue
        member = {**member, "tier": (tiers or {}).get(m, member["tier"])}
        if channels is not None and m not in visible:
            continue
        acts = [(o["channel_id"], o["placed_at"]) for o in orders[m]] + [
            (v["channel_id"], v["at"]) for v in visits[m]]
        spend = sum(o["total_base"] - o.get("refunded_base", 0) for o in orders[m])
        if rules.get("tiers") and member["tier"] not in rules["tiers"]:
            continue
        if (active := rules.get("active_in")) is not None:
            start, end = window(active, as_of)
            if not all(any(KIND[c] == kind and start <= t < end for c, t in acts)
                       for kind in active["kinds"]):
                continue
        if (ltv := rules.get("lifetime_value")) is not None:
            if ltv.get("at_least") is not None and spend < ltv["at_least"]:
                continue
            if ltv.get("below") is not None and spend >= ltv["below"]:
                continue
        if (last := rules.get("last_activity")) is not None:
            if not acts:
                continue
            latest = max(t for _, t in acts)
            if last.get("within_days") and latest < as_of - timedelta(days=last["within_days"]):
                continue
            if last.get("not_within_days") and latest >= as_of - timedelta(
                    days=last["not_within_days"]):
                continue
        if (visited := rules.get("visited")) is not None:
            start, end = window(visited, as_of)
            if not any(v["location_id"] in visited["locations"] and start <= v["at"] < end
                       for v in visits[m]):
                continue
        if (rfm := rules.get("rfm")) is not None:
            if not orders[m]:
                continue
            days = (as_of - max(o["placed_at"] for o in orders[m])).total_seconds() / 86_400
            scores = {"recency": score(-days, tuple(-d for d in R_DAYS)),
                      "frequency": score(len(orders[m]), F_ORDERS),
                      "monetary": score(spend, tuple(u * 100 for u in M_UNITS))}
            if any(rfm.get(k) and not rfm[k][0] <= scores[k] <= rfm[k][1] for k in scores):
                continue
        found.append(m)
    return found


ADMIN_SEGMENTS = [s for s in SEEDS["segments"] if s["owner"] == "admin"]
PARTNER_SEGMENTS = [s for s in SEEDS["segments"] if s["owner"] != "admin"]
COUNT = """query($id: ID!, $asOf: DateTime) { segment(id: $id) { name count(asOf: $asOf)
  members(asOf: $asOf, first: 100) { totalCount edges { node { id } } } } }"""


def test_the_oracle_finds_members_in_every_demo_segment() -> None:
    sizes = {s["name"]: len(expected(s, channels=None)) for s in ADMIN_SEGMENTS}
    assert all(0 < n < 60 for n in sizes.values()), sizes


@pytest.mark.parametrize("segment", ADMIN_SEGMENTS, ids=lambda s: s["name"])
async def test_an_admin_segment_counts_and_lists_what_plain_python_finds(
    callers: Callers, segment: dict[str, Any]
) -> None:
    found = await data(callers.admin, COUNT, {"id": segment["_id"],
                                              "asOf": AS_OF.isoformat()})
    members = expected(segment, channels=None)
    assert found["segment"]["count"] == str(len(members))
    assert found["segment"]["members"]["totalCount"] == str(len(members))
    assert [e["node"]["id"] for e in found["segment"]["members"]["edges"]] == members


@pytest.mark.parametrize("segment", PARTNER_SEGMENTS, ids=lambda s: s["name"])
async def test_a_partner_segment_holds_only_its_members_and_its_channels_activity(
    callers: Callers, segment: dict[str, Any]
) -> None:
    members = expected(segment, channels=PARTNER_A)
    assert members
    variables = {"id": segment["_id"], "asOf": AS_OF.isoformat()}
    # the partner and an admin get the same members: the segment covers the partner's
    # channels whoever reads it
    for client in (callers.partner_a, callers.admin):
        found = await data(client, COUNT, variables)
        assert found["segment"]["count"] == str(len(members))
        assert [e["node"]["id"] for e in found["segment"]["members"]["edges"]] == members
    # another partner does not see it, nor an admin's segment
    assert await data(callers.partner_b, COUNT, variables) == {"segment": None}
    assert await data(callers.partner_a, COUNT, {"id": ADMIN_SEGMENTS[0]["_id"]}) == {
        "segment": None}


BATCH = """query($asOf: DateTime) { segments(first: 20) { totalCount edges { node {
  id count(asOf: $asOf) } } } }"""


async def test_every_segment_of_a_request_is_counted_by_one_aggregate(
    callers: Callers,
) -> None:
    body = await gql(callers.admin, BATCH, {"asOf": AS_OF.isoformat()})
    assert "errors" not in body, body["errors"]
    # segments: one find and one count; the counts: the channels (kinds) and ONE aggregate
    assert body["extensions"]["db"] == {"commands": 4, "byCollection": {
        "channels": 1, "members": 1, "segments": 2}}
    counts = {e["node"]["id"]: e["node"]["count"] for e in body["data"]["segments"]["edges"]}
    assert body["data"]["segments"]["totalCount"] == str(len(SEEDS["segments"]))
    assert counts == {s["_id"]: str(len(expected(s, channels=s["channels"] and tuple(
        s["channels"])))) for s in SEEDS["segments"]}


async def test_a_window_ending_now_differs_from_as_of_a_past_moment(callers: Callers) -> None:
    segment = next(s for s in ADMIN_SEGMENTS if s["name"] == "Lapsed 30 days")
    earlier = AS_OF - timedelta(days=120)
    found = await data(callers.admin, COUNT, {"id": segment["_id"],
                                              "asOf": earlier.isoformat()})
    assert found["segment"]["count"] == str(len(expected(segment, channels=None,
                                                         as_of=earlier)))


@pytest.fixture(scope="module", params=["wire", "embedded"])
async def gw(request: pytest.FixtureRequest, seeded: str) -> AsyncIterator[WritingGateway]:
    async for gateway in fresh_gateway(request.param, seeded, "segments"):
        yield gateway


SAVE = """mutation($input: SaveSegmentInput!) { saveSegment(input: $input) {
  segment { id name purpose count(asOf: "2026-11-01T00:00:00Z") definition {
    activeIn { kinds window { withinDays since until } } lifetimeValue { atLeast { amount } }
    rfm { recency { min max } } visited { locations { id } } } }
  userErrors { field code message } } }"""
CONSENT = """mutation($input: RecordConsentInput!) { recordConsent(input: $input) {
  consent { purpose granted source } userErrors { code } } }"""


async def test_save_replay_replace_and_delete(gw: WritingGateway) -> None:
    definition = {"activeIn": {"kinds": ["ONLINE_SHOP"], "window": {"withinDays": 30}},
                  "lifetimeValue": {"atLeast": "100000"}, "rfm": {"recency": {"min": 4}},
                  "visited": {"locations": ["loc_fm_shanghai_xuhui"]}}
    variables = {"input": {"name": "Online, recent", "purpose": "MARKETING",
                           "definition": definition, "idempotencyKey": "save-1"}}
    first = await gql(gw.client, SAVE, variables)
    again = await gql(gw.client, SAVE, variables)
    assert first["data"] == again["data"]
    saved = first["data"]["saveSegment"]["segment"]
    assert saved["definition"] == {
        "activeIn": {"kinds": ["ONLINE_SHOP"], "window": {"withinDays": 30, "since": None,
                                                          "until": None}},
        "lifetimeValue": {"atLeast": {"amount": "1000.00"}}, "rfm": {"recency": {"min": 4,
                                                                                "max": 5}},
        "visited": {"locations": [{"id": "loc_fm_shanghai_xuhui"}]}}
    doc = await gw.db["segments"].find_one({"_id": saved["id"]})
    assert saved["count"] == str(len(expected(doc, channels=None)))
    # saving the name again with another key replaces the rules, same id
    replaced = await data(gw.client, SAVE, {"input": {
        **variables["input"], "definition": {"lifetimeValue": {"atLeast": "1"}},
        "idempotencyKey": "save-2"}})
    assert replaced["saveSegment"]["segment"]["id"] == saved["id"]
    assert replaced["saveSegment"]["segment"]["definition"]["activeIn"] is None
    delete = """mutation($id: ID!, $key: String!) { deleteSegment(segment: $id,
      idempotencyKey: $key) { deletedId userErrors { code } } }"""
    gone = await data(gw.client, delete, {"id": saved["id"], "key": "del-1"})
    assert gone == {"deleteSegment": {"deletedId": saved["id"], "userErrors": []}}
    assert await data(gw.client, delete, {"id": saved["id"], "key": "del-1"}) == gone
    assert await data(gw.client, delete, {"id": saved["id"], "key": "del-2"}) == {
        "deleteSegment": {"deletedId": None, "userErrors": [{"code": "NOT_FOUND"}]}}


@pytest.mark.parametrize(("definition", "error"), [
    ({"activeIn": {"kinds": [], "window": {"withinDays": 5}}},
     ("definition.activeIn.kinds", "INVALID")),
    ({"activeIn": {"kinds": ["OVERSEAS"], "window": {"withinDays": 5,
                                                     "since": "2026-01-01T00:00:00Z"}}},
     ("definition.activeIn.withinDays", "INVALID")),
    ({"lastActivity": {"withinDays": 0}}, ("definition.lastActivity.withinDays", "INVALID")),
    ({"rfm": {"monetary": {"min": 4, "max": 2}}}, ("definition.rfm.monetary", "INVALID")),
    ({"lifetimeValue": {"atLeast": "10", "below": "5"}}, ("definition.lifetimeValue",
                                                          "INVALID")),
    ({"visited": {"locations": ["loc_nowhere"]}}, ("definition.visited.locations.0",
                                                   "NOT_FOUND")),
])
async def test_a_bad_definition_is_refused_and_nothing_is_saved(
    gw: WritingGateway, definition: dict[str, Any], error: tuple[str, str]
) -> None:
    before = await gw.db["segments"].count_documents({})
    body = await data(gw.client, SAVE, {"input": {"name": "bad", "purpose": "ANALYTICS",
                                                  "definition": definition,
                                                  "idempotencyKey": f"bad-{error[0]}"}})
    assert [(e["field"], e["code"]) for e in body["saveSegment"]["userErrors"]] == [error]
    assert await gw.db["segments"].count_documents({}) == before


async def test_a_partner_saves_its_own_segment_without_tiers(gw: WritingGateway) -> None:
    key = await gw.gateway.key("seg-partner", "partner", PARTNER_A)
    async with gw.gateway.client(key) as partner:
        refused = await gql(partner, SAVE, {"input": {
            "name": "gold", "purpose": "MARKETING", "definition": {"tiers": ["GOLD"]},
            "idempotencyKey": "p-1"}})
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
        body = await data(partner, SAVE, {"input": {
            "name": "US and MY", "purpose": "ANALYTICS", "definition": {},
            "idempotencyKey": "p-2"}})
    saved = await gw.db["segments"].find_one({"_id": body["saveSegment"]["segment"]["id"]})
    assert (saved["owner"], saved["channels"]) == ("partner:ch_my_market,ch_us_market",
                                                   list(PARTNER_A))
    assert body["saveSegment"]["segment"]["count"] == str(len(expected(saved,
                                                                       channels=PARTNER_A)))


async def test_a_marketing_segment_counts_only_members_with_marketing_consent(
    gw: WritingGateway,
) -> None:
    segment = next(s for s in ADMIN_SEGMENTS if s["name"] == "Xuhui store visitors")
    members = expected(segment, channels=None)
    variables = {"id": segment["_id"], "asOf": AS_OF.isoformat()}
    assert (await data(gw.client, COUNT, variables))["segment"]["count"] == str(len(members))
    # when one of them withdraws marketing consent in every channel it had granted
    member = members[0]
    granted = {k.split(":", 1)[1] for k in (await gw.db["members"].find_one(
        {"_id": member}))["consented"] if k.startswith("MARKETING:")}
    for n, channel in enumerate(sorted(granted)):
        answer = await data(gw.client, CONSENT, {"input": {
            "member": member, "channel": channel, "purpose": "MARKETING", "granted": False,
            "source": "unsubscribe link", "idempotencyKey": f"withdraw-{n}"}})
        assert answer["recordConsent"] == {"consent": {
            "purpose": "MARKETING", "granted": False, "source": "unsubscribe link"},
            "userErrors": []}
    # then the segment no longer holds it
    found = await data(gw.client, COUNT, variables)
    assert found["segment"]["count"] == str(len(members) - 1)
    assert member not in [e["node"]["id"] for e in found["segment"]["members"]["edges"]]
    # and once it grants it again, it is back
    for n, channel in enumerate(sorted(granted)):
        await data(gw.client, CONSENT, {"input": {
            "member": member, "channel": channel, "purpose": "MARKETING", "granted": True,
            "source": "signup form", "idempotencyKey": f"grant-{n}"}})
    assert (await data(gw.client, COUNT, variables))["segment"]["count"] == str(len(members))


async def test_a_page_and_its_total_count_are_one_aggregate(callers: Callers) -> None:
    segment = ADMIN_SEGMENTS[0]
    query = """query($id: ID!) { segment(id: $id) { members(asOf: "2026-11-01T00:00:00Z",
      first: 2) { totalCount edges { node { id } } } } }"""
    body = await gql(callers.admin, query, {"id": segment["_id"]})
    # the segment, the channels, one aggregate, the page's members
    assert body["extensions"]["db"] == {"commands": 4, "byCollection": {
        "channels": 1, "members": 2, "segments": 1}}
    members = expected(segment, channels=None)
    assert body["data"]["segment"]["members"] == {"totalCount": str(len(members)), "edges": [
        {"node": {"id": m}} for m in members[:2]]}


async def test_a_merged_member_counts_through_its_survivor(gw: WritingGateway) -> None:
    merge = """mutation { mergeMembers(survivor: "mem_00021", merged: "mem_00022") {
      survivor { tier } userErrors { code } } }"""
    survivor = (await data(gw.client, merge))["mergeMembers"]
    assert survivor["userErrors"] == []
    tiers = {"mem_00021": survivor["survivor"]["tier"]}
    merged = {"mem_00022": "mem_00021"}
    # the merge moves at least one segment (so the test can tell a stale evaluation)
    assert any(expected(s, channels=None, merged=merged, tiers=tiers)
               != expected(s, channels=None) for s in ADMIN_SEGMENTS)
    for segment in ADMIN_SEGMENTS:
        found = await data(gw.client, COUNT, {"id": segment["_id"],
                                              "asOf": AS_OF.isoformat()})
        members = expected(segment, channels=None, merged=merged, tiers=tiers)
        assert [e["node"]["id"] for e in found["segment"]["members"]["edges"]] == members, (
            segment["name"])
    undo = await gw.db["merges"].find_one({"merged_id": "mem_00022", "status": "ACTIVE"})
    undone = await data(gw.client, """mutation($id: ID!) { unmergeMembers(mergeId: $id) {
      userErrors { code } } }""", {"id": undo["_id"]})
    assert undone["unmergeMembers"]["userErrors"] == []


async def test_concurrent_saves_of_one_name_make_one_segment(gw: WritingGateway) -> None:
    variables = [{"input": {"name": "Raced", "purpose": "ANALYTICS", "definition": {
        "lastActivity": {"withinDays": 10 + n}}, "idempotencyKey": f"raced-{n}"}}
        for n in range(12)]
    save = """mutation($input: SaveSegmentInput!) { saveSegment(input: $input) {
      segment { id } userErrors { code } } }"""
    answers = await asyncio.gather(*(data(gw.client, save, v) for v in variables))
    assert all(a["saveSegment"]["userErrors"] == [] for a in answers)
    assert len({a["saveSegment"]["segment"]["id"] for a in answers}) == 1
    stored = await gw.db["segments"].find({"name": "Raced"}).to_list(None)
    assert len(stored) == 1
    # the rules in force are one of the saves', whole
    assert stored[0]["definition"]["last_activity"]["within_days"] in range(10, 22)


def _crossing() -> tuple[str, str, int]:
    """A member with analytics consent and a captured base-currency payment large enough that
    refunding part of it takes the member's lifetime value below an M threshold: the member,
    the payment and the threshold (base minor units), from the seed files."""
    orders = {o["_id"]: o for o in SEEDS["orders"]}
    value: dict[str, int] = defaultdict(int)
    for o in SEEDS["orders"]:
        if o["status"] != "CANCELLED" and o["member_id"]:
            value[o["member_id"]] += o["total_base"] - o.get("refunded_base", 0)
    consenting = {m["_id"] for m in SEEDS["members"]
                  if any(k.startswith("ANALYTICS:") for k in m.get("consented", []))}
    for p in SEEDS["payments"]:
        order = orders[p["order_id"]]
        if (p["status"] == "CAPTURED" and p["member_id"] in consenting
                and order["total"] == order["total_base"]):
            for t in (u * 100 for u in M_UNITS):
                if value[p["member_id"]] - p["amount"] < t <= value[p["member_id"]]:
                    return p["member_id"], p["_id"], t
    raise AssertionError("no member of the demo data fits")


LIFETIME = """query($id: ID!) { member(id: $id) { lifetimeValue { minorUnits } } }"""
SAVE_RULES = """mutation($input: SaveSegmentInput!) { saveSegment(input: $input) {
  segment { id } userErrors { code } } }"""
HOLDS = """query($id: ID!) { segment(id: $id) { members(first: 100) {
  totalCount edges { node { id } } } } }"""
REFUND = """mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
  userErrors { code message } } }"""


async def test_a_refund_moves_a_member_across_segments_as_its_lifetime_value_says(
    gw: WritingGateway,
) -> None:
    member, payment, threshold = _crossing()

    async def lifetime_value() -> int:
        found = await data(gw.client, LIFETIME, {"id": member})
        return int(found["member"]["lifetimeValue"]["minorUnits"])

    async def segment(name: str, definition: dict[str, Any]) -> str:
        saved = await data(gw.client, SAVE_RULES, {"input": {
            "name": name, "purpose": "ANALYTICS", "definition": definition,
            "idempotencyKey": f"ltv-{name}"}})
        assert saved["saveSegment"]["userErrors"] == []
        return str(saved["saveSegment"]["segment"]["id"])

    async def holds(segment_id: str) -> bool:
        found = (await data(gw.client, HOLDS, {"id": segment_id}))["segment"]["members"]
        assert int(found["totalCount"]) <= 100
        return member in [e["node"]["id"] for e in found["edges"]]

    before = await lifetime_value()
    assert before >= threshold
    m_before = score(before, tuple(u * 100 for u in M_UNITS))
    exactly_before = await segment("LTV exactly before", {"lifetimeValue": {
        "atLeast": str(before), "below": str(before + 1)}})
    m_score_before = await segment("M as before", {"rfm": {"monetary": {
        "min": m_before, "max": m_before}}})
    assert await holds(exactly_before) and await holds(m_score_before)
    # when part of one of its payments is refunded, taking its lifetime value below the
    # threshold of its M score
    refunded = await data(gw.client, REFUND, {"input": {
        "payment": payment, "amount": str(before - threshold + 1), "reason": "damaged",
        "idempotencyKey": "ltv-refund"}})
    assert refunded["refundPayment"]["userErrors"] == []
    after = await lifetime_value()
    assert after == threshold - 1
    m_after = score(after, tuple(u * 100 for u in M_UNITS))
    assert m_after == m_before - 1
    # then the segments follow lifetimeValue: out of those of the value before, into those of
    # the value after, by the lifetime-value rule and by the M score alike
    exactly_after = await segment("LTV exactly after", {"lifetimeValue": {
        "atLeast": str(after), "below": str(after + 1)}})
    m_score_after = await segment("M as after", {"rfm": {"monetary": {
        "min": m_after, "max": m_after}}})
    assert [await holds(s) for s in (exactly_before, m_score_before, exactly_after,
                                      m_score_after)] == [False, False, True, True]
