"""The README's queries answer what the README shows, on the gateway `make serve` starts: the
embedded store loaded from seeds/, `extensions.db` on, the demo admin key fixed by
OMNIGW_DEMO_ADMIN_KEY, every other setting at its default."""

from __future__ import annotations

import json
import re
from typing import Any

from gateway.settings import Settings
from tests.support import ROOT, running_gateway

README = (ROOT / "README.md").read_text(encoding="utf-8")


def first_query() -> tuple[str, str, str, dict[str, Any]]:
    """From the README: the key `make serve` is given, the key curl sends, the query, and
    the answer shown."""
    start = README.index("\n## A first query")
    section = README[start:README.index("\n## ", start + 1)]
    serve_key = re.search(r"OMNIGW_DEMO_ADMIN_KEY=(\S+) make serve", section)
    curl = re.search(r"Authorization: Bearer ([^']+)' --data-urlencode 'query=(.*?)'", section,
                     flags=re.S)
    answer = re.search(r"```json\n(.*?)```", section, flags=re.S)
    assert serve_key and curl and answer, "the README's first query lost its shape"
    return serve_key.group(1), curl.group(1), curl.group(2), json.loads(answer.group(1))


async def test_the_readme_first_query_answers_what_the_readme_shows() -> None:
    # Given the gateway as `make serve` starts it, with the README's demo key
    serve_key, sent_key, query, shown = first_query()
    assert sent_key == serve_key
    settings = Settings(mongodb_uri=None, debug_db_stats=True, demo_admin_key=serve_key)
    async for gateway in running_gateway(settings):
        # When the README's curl is sent (a GET with the query in the URL)
        async with gateway.client(sent_key) as client:
            response = await client.get("/graphql", params={"query": query})
        # Then the answer is the README's, all but what the bucket regained with time
        assert response.status_code == 200, response.text
        body = response.json()
        for answer in (body, shown):
            available = answer["extensions"]["cost"]["throttleStatus"].pop("currentlyAvailable")
            assert 1000 - 13 <= available <= 1000
        assert body == shown


async def test_the_readme_campaign_examples_answer_what_the_readme_shows() -> None:
    start = README.index("\n## Campaigns, coupons and points")
    section = README[start:README.index("\n## ", start + 1)]
    blocks = re.findall(r"```(graphql|json)\n(.*?)```", section, flags=re.S)
    pairs = list(zip(blocks[::2], blocks[1::2], strict=True))
    assert [(q[0], a[0]) for q, a in pairs] == [("graphql", "json")] * 3
    settings = Settings(mongodb_uri=None, demo_admin_key="demo-admin-key")
    async for gateway in running_gateway(settings):
        async with gateway.client("demo-admin-key") as client:
            for (_, query), (_, answer) in pairs:
                response = await client.post("/graphql", json={"query": query})
                assert response.json()["data"] == json.loads(answer), query
