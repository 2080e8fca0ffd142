"""The hostile corpus, short, against a real ``omnigw serve`` process on the wire server: the
process's resident memory stays bounded and another key keeps being served.

The full corpus with its figures is ``make abuse`` (tests/benchmarks/abuse.py); the bounds
asserted here hold on a busy 2-core machine.
"""

from __future__ import annotations

from collections import Counter

from tests.benchmarks import abuse

RSS_GROWTH_MB = 150  # the stated bound: resident memory grows by less than this
LATENCY_BOUND_S = 5.0  # the other key's slowest request while a case runs
SHORT = {"OMNIGW_HEADER_TIMEOUT_SECONDS": "1", "OMNIGW_BODY_TIMEOUT_SECONDS": "1"}


def only(outcomes: Counter[str], allowed: set[str]) -> bool:
    return bool(outcomes) and set(outcomes) <= allowed


async def test_memory_stays_bounded_under_the_hostile_corpus(mongo_uri: str) -> None:
    await abuse.prepare(mongo_uri)
    with abuse.serve(mongo_uri, {**abuse.UNLIMITED, **SHORT}) as server:
        start = server.rss_mb()
        results = {r.name: r for r in await abuse.run(server, abuse.memory_cases(0.2, hold=4))}
        assert only(results["big-documents"].outcomes, {"200 QUERY_TOO_COMPLEX"})
        assert only(results["cached-documents"].outcomes, {"200 ok"})
        assert only(results["big-frames"].outcomes, {"closed 1009"})
        assert only(results["keyless-stalls"].outcomes, {"401", "429", "503"})
        assert only(results["trickle"].outcomes, {"503", "closed"})  # none still open
        for result in results.values():
            assert not result.failures, (result.name, result.failures)
            assert max(result.latencies) < LATENCY_BOUND_S, result.line()
        assert server.rss_mb() < start + RSS_GROWTH_MB, [r.line() for r in results.values()]


async def test_invalid_documents_and_analytics_are_throttled(mongo_uri: str) -> None:
    await abuse.prepare(mongo_uri)
    with abuse.serve(mongo_uri) as server:
        results = {r.name: r for r in await abuse.run(server, abuse.throttle_cases(0.15))}
        invalid = results["invalid-documents"].outcomes
        assert only(invalid, {"200 GRAPHQL_VALIDATION_FAILED", "200 THROTTLED", "429 THROTTLED"})
        # about 110 points each: a bucket (1,000) and 3 s of its rate (100/s), then refused
        assert invalid["200 GRAPHQL_VALIDATION_FAILED"] <= 1000 // 100 + 3 + 8, invalid
        analytics = results["analytics"].outcomes
        assert only(analytics, {"200 ok", "200 THROTTLED", "429 THROTTLED"})
        assert analytics["200 ok"] <= 1000 // 25 + 3 * 100 // 25 + 6, analytics
        for result in results.values():
            assert not result.failures, (result.name, result.failures)
            assert max(result.latencies) < LATENCY_BOUND_S, result.line()
