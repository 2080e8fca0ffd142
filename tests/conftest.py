"""Test set-up: a real MongoDB wire-protocol server for the whole session, and the fixtures
every test may ask for (the shared helpers are in tests/support/).

With ``MONGODB_URI`` set, tests use that server. Otherwise mongo-java-server (built once with
Maven from tests/mongo_server/) is started on a free loopback port and stopped at the end,
also when tests fail. A session that cannot reach a server fails; it never falls back to the
embedded store.

The suite is hermetic: before any test module is imported, every ``OMNIGW_*`` and ``OTEL_*``
variable, ``PORT`` and ``PROMETHEUS_MULTIPROC_DIR`` of the caller's environment is removed,
and no ``.env`` file is read (``OMNIGW_ENV_FILE`` is set empty, for the processes the tests
start too). ``MONGODB_URI`` is the one variable honoured; the session header says so.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pymongo
import pytest

from gateway.database import connect, seeding
from tests.mongo_server.server import WireServer
from tests.support.gateways import (
    ROOT,
    Callers,
    Gateway,
    callers_of,
    embedded_settings,
    running_gateway,
    wire_settings,
)
from tests.support.takeover import renew_no_lease

HONOURED = ("MONGODB_URI",)
CLEARED = [name for name in os.environ
           if name.startswith(("OMNIGW_", "OTEL_")) or name in ("PORT", "PROMETHEUS_MULTIPROC_DIR")]
for _name in CLEARED:
    del os.environ[_name]
os.environ["OMNIGW_ENV_FILE"] = ""  # no .env: Settings() sees the defaults and the test's own


def pytest_report_header() -> list[str]:
    honoured = [f"{name}={'set' if os.environ.get(name) else 'unset'}" for name in HONOURED]
    return [f"environment: honoured {', '.join(honoured)}; cleared "
            f"{', '.join(sorted(CLEARED)) or 'nothing (none was set)'}; no .env read"]


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    """The URI of the MongoDB the suite runs against (started here unless MONGODB_URI)."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        try:
            pymongo.MongoClient(uri, serverSelectionTimeoutMS=3000).admin.command("ping")
        except pymongo.errors.PyMongoError as exc:
            pytest.fail(f"MONGODB_URI is set but does not answer ping: {exc}", pytrace=False)
        yield uri
        return
    try:
        server = WireServer(ROOT).start()
    except (RuntimeError, OSError) as exc:
        pytest.fail(f"cannot start the test MongoDB server (mongo-java-server): {exc}",
                    pytrace=False)
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def seeded(mongo_uri: str) -> str:
    """The demo data, loaded once into the test database."""
    db = connect(wire_settings(mongo_uri))
    try:
        for name in seeding.COLLECTIONS:
            await db[name].drop()
        await seeding.load(db, seeding.read_seed_files(ROOT / "seeds"))
    finally:
        await db.close()
    return mongo_uri


@pytest.fixture(scope="session")
async def wire_gateway(seeded: str) -> AsyncIterator[Gateway]:
    """The gateway on the wire server with the demo data."""
    async for gateway in running_gateway(wire_settings(seeded)):
        yield gateway


@pytest.fixture(scope="session")
async def embedded_gateway() -> AsyncIterator[Gateway]:
    """The gateway on the embedded store (loaded from seeds/)."""
    async for gateway in running_gateway(embedded_settings()):
        yield gateway


@pytest.fixture(scope="session")
async def client(wire_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client (admin key) for the gateway on the wire server with the demo data."""
    async with wire_gateway.client(await wire_gateway.key("test-admin", "admin")) as c:
        yield c


@pytest.fixture(scope="session")
async def embedded_client(embedded_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client (admin key) for the gateway on the embedded store."""
    async with embedded_gateway.client(await embedded_gateway.key("test-admin", "admin")) as c:
        yield c


@pytest.fixture(scope="session")
async def wire_callers(wire_gateway: Gateway) -> AsyncIterator[Callers]:
    async for callers in callers_of(wire_gateway):
        yield callers


@pytest.fixture(scope="session")
async def embedded_callers(embedded_gateway: Gateway) -> AsyncIterator[Callers]:
    async for callers in callers_of(embedded_gateway):
        yield callers


@pytest.fixture(params=["wire_callers", "embedded_callers"])
def callers(request: pytest.FixtureRequest) -> Callers:
    """An admin and two partners, on the wire server and on the embedded store."""
    result: Callers = request.getfixturevalue(request.param)
    return result




@pytest.fixture
def stalled_holder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The request a test stalls renews no lease, so a retry may take its claim over."""
    renew_no_lease(monkeypatch)
