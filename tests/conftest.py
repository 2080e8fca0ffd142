"""Test set-up: a real MongoDB wire-protocol server for the whole session.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pymongo
import pytest
from starlette.applications import Starlette

from gateway.admission import keys
from gateway.app import create_app
from gateway.database import Database, connect, seeding
from gateway.settings import Settings
from tests.mongo_server.server import WireServer

HONOURED = ("MONGODB_URI",)
CLEARED = [name for name in os.environ
           if name.startswith(("OMNIGW_", "OTEL_")) or name in ("PORT", "PROMETHEUS_MULTIPROC_DIR")]
for _name in CLEARED:
    del os.environ[_name]
os.environ["OMNIGW_ENV_FILE"] = ""  # no .env: Settings() sees the defaults and the test's own

ROOT = Path(__file__).resolve().parent.parent
SEEDS = seeding.read_seed_files(ROOT / "seeds")
DATABASE = "omnigw_test"


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


# The shared clients run the whole suite at full speed: their cost buckets never run dry, and
# a key stays cached through a database restart (tests/test_errors.py). tests/test_cost.py and
# tests/test_auth.py build gateways with the default settings.
TEST_DEFAULTS: dict[str, Any] = {"throttle_bucket_size": 10_000_000,
                                 "throttle_restore_rate": 10_000_000,
                                 "key_cache_ttl_seconds": 300}
PARTNER_A = ("ch_my_market", "ch_us_market")
PARTNER_B = ("ch_freshmart", "ch_th_market")


def wire_settings(uri: str, **overrides: Any) -> Settings:
    options: dict[str, Any] = {"database": DATABASE, "debug_db_stats": True, **TEST_DEFAULTS,
                               **overrides}
    return Settings(mongodb_uri=uri, **options)


def embedded_settings(**overrides: Any) -> Settings:
    return Settings(mongodb_uri=None, debug_db_stats=True, **{**TEST_DEFAULTS, **overrides})


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


@dataclass
class Gateway:
    """A running app (lifespan entered): create keys and clients that send them."""

    app: Starlette
    settings: Settings

    async def key(self, name: str, role: str, channels: tuple[str, ...] = ()) -> str:
        return await keys.create_key(self.app.state.db, self.settings, name=name, role=role,
                                     channels=channels, replace=True)

    def client(self, key: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://gateway", headers=headers)


async def _gateway(settings: Settings) -> AsyncIterator[Gateway]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.settings = settings
        yield Gateway(app, settings)


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an admin key, created through gateway.admission.auth."""
    async for gateway in _gateway(settings):
        key = await gateway.key("test-admin", "admin")
        async with gateway.client(key) as client:
            yield client


@pytest.fixture(scope="session")
async def wire_gateway(seeded: str) -> AsyncIterator[Gateway]:
    """The gateway on the wire server with the demo data."""
    async for gateway in _gateway(wire_settings(seeded)):
        yield gateway


@pytest.fixture(scope="session")
async def embedded_gateway() -> AsyncIterator[Gateway]:
    """The gateway on the embedded store (loaded from seeds/)."""
    async for gateway in _gateway(embedded_settings()):
        yield gateway


@dataclass
class Callers:
    """An admin and two partners of one gateway (A: PARTNER_A channels, B: PARTNER_B)."""

    admin: httpx.AsyncClient
    partner_a: httpx.AsyncClient
    partner_b: httpx.AsyncClient


async def _callers(gateway: Gateway) -> AsyncIterator[Callers]:
    admin = gateway.client(await gateway.key("test-callers-admin", "admin"))
    partner_a = gateway.client(await gateway.key("test-partner-a", "partner", PARTNER_A))
    partner_b = gateway.client(await gateway.key("test-partner-b", "partner", PARTNER_B))
    async with admin, partner_a, partner_b:
        yield Callers(admin, partner_a, partner_b)


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
    async for callers in _callers(wire_gateway):
        yield callers


@pytest.fixture(scope="session")
async def embedded_callers(embedded_gateway: Gateway) -> AsyncIterator[Callers]:
    async for callers in _callers(embedded_gateway):
        yield callers


@pytest.fixture(params=["wire_callers", "embedded_callers"])
def callers(request: pytest.FixtureRequest) -> Callers:
    """An admin and two partners, on the wire server and on the embedded store."""
    result: Callers = request.getfixturevalue(request.param)
    return result


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST a GraphQL request; return the JSON body."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``data`` of a request that must succeed without errors."""
    body = await gql(client, query, variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


@dataclass
class WritingGateway:
    """A gateway on its own freshly seeded database, for tests that write."""

    kind: str
    client: httpx.AsyncClient
    db: Database
    gateway: Gateway  # to create more keys and clients


async def fresh_database(uri: str, name: str) -> Settings:
    """A database of its own on the wire server, loaded from seeds/; its settings."""
    settings = Settings(mongodb_uri=uri, database=name, debug_db_stats=True, **TEST_DEFAULTS)
    db = connect(settings)
    try:
        await db.client.drop_database(name)
        await seeding.load(db, seeding.read_seed_files(ROOT / "seeds"))
    finally:
        await db.close()
    return settings


async def fresh_gateway(
    kind: str, uri: str | None, name: str, **overrides: Any
) -> AsyncIterator[WritingGateway]:
    """A gateway on a private copy of the demo data: a new database on the wire server
    (``kind == "wire"``) or a new embedded store, so writes never leak into other tests. Its
    client presents an admin key; ``overrides`` are settings."""
    settings = Settings(mongodb_uri=uri if kind == "wire" else None,
                        database=f"omnigw_{name}", debug_db_stats=True,
                        **{**TEST_DEFAULTS, **overrides})
    if kind == "wire":
        db = connect(settings)
        try:
            await db.client.drop_database(settings.database)
            await seeding.load(db, seeding.read_seed_files(ROOT / "seeds"))
        finally:
            await db.close()
    async for gateway in _gateway(settings):
        key = await gateway.key("admin", "admin")  # audit entries read "by: admin"
        async with gateway.client(key) as client:
            yield WritingGateway(kind=kind, client=client, db=gateway.app.state.db,
                                 gateway=gateway)
