"""docs/members.md and the README's members section show real answers: each GraphQL example
there is run on the gateway as `make serve` starts it (the embedded store loaded from seeds/,
an admin key), and its answer must be the JSON block that follows it; the cohort table is
rendered from its query's answer, and the cohort shown in full must be one of that answer's."""

from __future__ import annotations

import json
import re
from typing import Any

from gateway.settings import Settings
from tests.support import ROOT, data, running_gateway
from tests.support.cohort_table import render

PAGE = (ROOT / "docs" / "members.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
README_SECTION = README[README.index("\n## Members and marketing"):][1:].split("\n## ", 1)[0]
BLOCK = re.compile(r"```(graphql|json)\n(.*?)```", re.S)
TABLE = "<!-- cohort table: tests/test_member_docs.py renders the answer and compares -->\n"
ONE_COHORT = "<!-- a cohort of the answer above -->\n"


def examples(page: str = PAGE) -> list[tuple[str, str | None, int]]:
    """Each GraphQL block, the JSON block right after it (if any), and where it ends."""
    blocks = list(BLOCK.finditer(page))
    found = []
    for n, block in enumerate(blocks):
        if block.group(1) == "graphql":
            after = blocks[n + 1] if n + 1 < len(blocks) else None
            shown = after.group(2) if after and after.group(1) == "json" and not page[
                block.end():after.start()].strip() else None
            found.append((block.group(2), shown, block.end()))
    return found


async def test_every_example_answers_what_the_page_shows() -> None:
    settings = Settings(mongodb_uri=None, debug_db_stats=True)
    checked: list[str] = []
    async for gateway in running_gateway(settings):
        async with gateway.client(await gateway.key("docs-admin", "admin")) as client:
            for query, shown, end in examples():
                answer: dict[str, Any] = await data(client, query)
                if shown is not None:
                    assert answer == json.loads(shown), query
                    checked.append("answer")
                elif PAGE[end:].lstrip().startswith(TABLE):
                    table = PAGE[end:].lstrip()[len(TABLE):].split("\n\n", 1)[0]
                    cohorts = answer["repeatPurchaseCohorts"]
                    assert table == render(cohorts, last_month="2026-10")
                    block = PAGE[PAGE.index(ONE_COHORT) + len(ONE_COHORT):]
                    one = json.loads(BLOCK.match(block).group(2))  # type: ignore[union-attr]
                    assert one in cohorts["cohorts"]
                    checked.append("cohorts")
    assert checked == ["answer", "answer", "answer", "cohorts"]


async def test_the_readme_members_examples_answer_what_it_shows() -> None:
    found = examples(README_SECTION)
    assert found and all(shown is not None for _, shown, _ in found)
    async for gateway in running_gateway(Settings(mongodb_uri=None)):
        async with gateway.client(await gateway.key("readme-admin", "admin")) as client:
            for query, shown, _ in found:
                assert await data(client, query) == json.loads(shown or "null"), query
