"""Gateways for tests: settings, a running app with keys and clients, callers of three
roles, and private copies of the demo data for tests that write."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from gateway.admission import keys
from gateway.app import create_app
from gateway.database import Database, connect, seeding
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SEEDS = seeding.read_seed_files(ROOT / "seeds")
DATABASE = "omnigw_test"


# The shared clients run the whole suite at full speed: their cost buckets never run dry, and
# a key stays cached through a database restart (tests/test_errors.py). tests/test_cost.py and
# tests/test_auth.py build gateways with the default settings. A bucket lasts 10 s at the
# restore rate: a charge that waits longer than that for the database (100 concurrent
# requests on a loaded machine) would find the bucket moved on past its clock.
TEST_DEFAULTS: dict[str, Any] = {"throttle_bucket_size": 10_000_000,
                                 "throttle_restore_rate": 1_000_000,
                                 "key_cache_ttl_seconds": 300}
PARTNER_A = ("ch_my_market", "ch_us_market")
PARTNER_B = ("ch_freshmart", "ch_th_market")


def wire_settings(uri: str, **overrides: Any) -> Settings:
    options: dict[str, Any] = {"database": DATABASE, "debug_db_stats": True, **TEST_DEFAULTS,
                               **overrides}
    return Settings(mongodb_uri=uri, **options)


def embedded_settings(**overrides: Any) -> Settings:
    return Settings(mongodb_uri=None, debug_db_stats=True, **{**TEST_DEFAULTS, **overrides})


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


async def running_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.settings = settings
        yield Gateway(app, settings)


async def admin_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an admin key of its own, created through gateway.admission.auth (a
    shared name would replace, and so revoke, the session clients' key in the same database)."""
    async for gateway in running_gateway(settings):
        key = await gateway.key(f"test-admin-{secrets.token_hex(4)}", "admin")
        async with gateway.client(key) as client:
            yield client


@dataclass
class Callers:
    """An admin and two partners of one gateway (A: PARTNER_A channels, B: PARTNER_B)."""

    admin: httpx.AsyncClient
    partner_a: httpx.AsyncClient
    partner_b: httpx.AsyncClient


async def callers_of(gateway: Gateway) -> AsyncIterator[Callers]:
    admin = gateway.client(await gateway.key("test-callers-admin", "admin"))
    partner_a = gateway.client(await gateway.key("test-partner-a", "partner", PARTNER_A))
    partner_b = gateway.client(await gateway.key("test-partner-b", "partner", PARTNER_B))
    async with admin, partner_a, partner_b:
        yield Callers(admin, partner_a, partner_b)



async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST a GraphQL request; return the JSON body."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


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
    async for gateway in running_gateway(settings):
        key = await gateway.key("admin", "admin")  # audit entries read "by: admin"
        async with gateway.client(key) as client:
            yield WritingGateway(kind=kind, client=client, db=gateway.app.state.db,
                                 gateway=gateway)
