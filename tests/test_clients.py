"""The reference clients of the GraphQL ecosystem against one running gateway.

Each file in tests/clients/checks/ is one check, run as its own process: ``*.mjs`` under Node
(graphql-ws, Apollo Client, relay-compiler, GraphQL Code Generator: npm packages pinned by
tests/clients/package-lock.json, which ``make test`` installs with ``npm ci``), ``*.py``
under this Python (gql, a dev dependency). A new check is one new file there. They all talk
to one gateway served by uvicorn on the wire server, on a database of its own, with the
default polling interval; each prints its findings (latencies, versions) as its last line.
Without Node or the npm packages the checks fail with a message: they never skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.admission import keys
from gateway.app import create_app
from gateway.settings import Settings
from tests.support import ROOT, fresh_database
from tests.support.servers import serving

CLIENTS = ROOT / "tests" / "clients"
CHECKS = sorted(p for p in (CLIENTS / "checks").iterdir() if p.suffix in (".mjs", ".py"))
INSTALLED = CLIENTS / "node_modules" / ".installed"
DATABASE = "omnigw_clients"
TIMEOUT = 120


@dataclass
class Served:
    url: str
    key: str
    poll_interval_ms: int


@pytest.fixture(scope="module")
async def served(mongo_uri: str) -> AsyncIterator[Served]:
    """The gateway on its own copy of the demo data (default limits and polling), with an
    admin key."""
    settings = Settings(mongodb_uri=mongo_uri, database=DATABASE)
    await fresh_database(mongo_uri, DATABASE)
    app = create_app(settings)
    async with serving(app) as base:
        key = await keys.create_key(app.state.db, settings, name="clients", role="admin")
        yield Served(f"{base}/graphql", key, settings.live_poll_interval_ms)


def command(check: Path) -> list[str]:
    if check.suffix == ".py":
        return [sys.executable, str(check)]
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH: the client checks need Node.js 20+ and npm.",
                    pytrace=False)
    if not INSTALLED.exists():
        pytest.fail("tests/clients/node_modules is missing: run `make test` (it runs `npm ci` "
                    "there) or `npm ci` in tests/clients.", pytrace=False)
    return [node, str(check)]


@pytest.mark.parametrize("check", CHECKS, ids=[p.name for p in CHECKS])
async def test_client(served: Served, check: Path) -> None:
    env = {**os.environ, "OMNIGW_URL": served.url, "OMNIGW_KEY": served.key,
           "OMNIGW_LIVE_POLL_INTERVAL_MS": str(served.poll_interval_ms), "NODE_ENV": "test"}
    process = await asyncio.create_subprocess_exec(
        *command(check), cwd=CLIENTS, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{check.name} did not finish within {TIMEOUT} s", pytrace=False)
    text = output.decode(errors="replace")
    assert process.returncode == 0, f"{check.name} failed:\n{text}"
    findings = json.loads(text.strip().splitlines()[-1])
    assert findings["client"], text
    print(f"{check.name}: {json.dumps(findings)}")
