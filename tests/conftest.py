"""Test set-up: a real MongoDB wire-protocol server for the whole session.

With ``MONGODB_URI`` set, tests use that server. Otherwise mongo-java-server (built once with
Maven from tests/mongo_server/) is started on a free loopback port and stopped at the end,
also when tests fail. A session that cannot reach a server fails; it never falls back to the
embedded store.
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

from gateway import demo_data
from gateway.app import create_app
from gateway.database import Database, connect, seeding
from gateway.settings import Settings
from tests.mongo_server.server import WireServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = demo_data.read_seed_files(ROOT / "seeds")
DATABASE = "omnigw_test"


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


def wire_settings(uri: str, **overrides: Any) -> Settings:
    return Settings(mongodb_uri=uri, database=DATABASE, debug_db_stats=True, **overrides)


@pytest.fixture(scope="session")
async def seeded(mongo_uri: str) -> str:
    """The demo data, loaded once into the test database."""
    db = connect(wire_settings(mongo_uri))
    try:
        for name in demo_data.COLLECTIONS:
            await db[name].drop()
        await seeding.load(db, demo_data.read_seed_files(ROOT / "seeds"))
    finally:
        await db.close()
    return mongo_uri


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.settings = settings
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


@pytest.fixture(scope="session")
async def client(seeded: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the gateway on the wire server with the demo data."""
    async for c in _client(wire_settings(seeded)):
        yield c


@pytest.fixture(scope="session")
async def embedded_client() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the gateway on the embedded store (loaded from seeds/)."""
    async for c in _client(Settings(mongodb_uri=None, debug_db_stats=True)):
        yield c


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
class Gateway:
    """A gateway on its own freshly seeded database, for tests that write."""

    kind: str
    client: httpx.AsyncClient
    db: Database


async def fresh_gateway(kind: str, uri: str | None, name: str) -> AsyncIterator[Gateway]:
    """A gateway on a private copy of the demo data: a new database on the wire server
    (``kind == "wire"``) or a new embedded store, so writes never leak into other tests."""
    settings = Settings(mongodb_uri=uri if kind == "wire" else None,
                        database=f"omnigw_{name}", debug_db_stats=True)
    if kind == "wire":
        db = connect(settings)
        try:
            await db.client.drop_database(settings.database)
            await seeding.load(db, demo_data.read_seed_files(ROOT / "seeds"))
        finally:
            await db.close()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Gateway(kind=kind, client=client, db=app.state.db)
