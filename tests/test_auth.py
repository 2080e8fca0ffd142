"""API keys: 401s, what is stored, the lookup cache, the CLI, demo keys and the pepper rule."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from typing import Any

import httpx
import pymongo
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from gateway.admission import auth, keys
from gateway.cli.main import app as cli
from gateway.database.monitoring import counting
from gateway.errors import Unauthenticated
from gateway.settings import Settings
from tests.support import SEEDS, Gateway, data, embedded_settings, running_gateway

CHANNELS = {"query": "{ channels { id } }"}


def unauthenticated(message: str) -> dict[str, object]:
    return {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing API key: send the header 'Authorization: Bearer <key>'."),
        ({"Authorization": "Basic dXNlcjpwYXNz"},
         "Malformed Authorization header: expected 'Bearer <key>'."),
        ({"Authorization": "Bearer {\"$ne\": null}"},
         "Malformed Authorization header: expected 'Bearer <key>'."),
        ({"Authorization": "Bearer omnigw_not-a-key-we-made"}, "Invalid or revoked API key."),
    ],
)
async def test_missing_malformed_and_unknown_keys_are_401(
    wire_gateway: Gateway, headers: dict[str, str], message: str
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wire_gateway.app),
                                 base_url="http://gateway", headers=headers) as client:
        response = await client.post("/graphql", json=CHANNELS)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="omnigw"'
        assert response.json() == unauthenticated(message)
        query = await client.get("/graphql", params={"query": "{ channels { id } }"})
        assert query.status_code == 401


async def test_graphiql_page_needs_no_key(wire_gateway: Gateway) -> None:
    async with wire_gateway.client(None) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_only_a_keyed_hash_is_stored(wire_gateway: Gateway) -> None:
    key = await wire_gateway.key("stored-partner", "partner", ("ch_us_market",))
    docs = await wire_gateway.app.state.db["api_keys"].find({"name": "stored-partner"}).to_list()
    assert len(docs) == 1
    doc = docs[0]
    assert key.startswith("omnigw_") and len(key) == len("omnigw_") + 43
    assert doc["_id"] == hmac.new(auth.DEV_PEPPER, key.encode(), hashlib.sha256).hexdigest()
    assert key not in str(doc) and key[7:] not in str(doc)
    assert sorted(doc) == ["_id", "channels", "created_at", "name", "revoked_at", "role"]
    assert (doc["role"], doc["channels"], doc["revoked_at"]) == ("partner", ["ch_us_market"],
                                                                 None)


async def test_list_and_revoke(wire_gateway: Gateway) -> None:
    db = wire_gateway.app.state.db
    key = await wire_gateway.key("to-revoke", "partner", ("ch_my_market",))
    listed = {row["name"]: row for row in await keys.list_keys(db)}
    assert key not in str(listed)
    row = listed["to-revoke"]
    assert (row["role"], row["channels"], row["revoked_at"]) == ("partner", ["ch_my_market"],
                                                                 None)
    assert await keys.revoke_key(db, row["id"][:8]) == "to-revoke"
    assert await keys.revoke_key(db, "to-revoke") is None  # once only
    listed = {row["name"]: row for row in await keys.list_keys(db)}
    assert listed["to-revoke"]["revoked_at"] is not None
    async with wire_gateway.client(key) as client:
        response = await client.post("/graphql", json=CHANNELS)
    assert response.status_code == 401
    assert response.json() == unauthenticated("Invalid or revoked API key.")


async def test_lookups_are_cached_for_the_ttl_then_see_revocation(
    embedded_gateway: Gateway,
) -> None:
    now = [0.0]
    db = embedded_gateway.app.state.db
    authenticator = auth.Authenticator(embedded_settings(key_cache_ttl_seconds=10),
                                       clock=lambda: now[0])
    key = await embedded_gateway.key("cached", "partner", ("ch_th_market",))
    header = f"Bearer {key}"
    with counting() as stats:
        principal = await authenticator.authenticate(db, header)
    assert stats.commands == 1
    assert principal == auth.Principal(key_id=principal.key_id, name="cached", role="partner",
                                       channels=("ch_th_market",))
    assert await keys.revoke_key(db, "cached") == "cached"
    now[0] = 9.9
    with counting() as stats:
        assert await authenticator.authenticate(db, header) == principal
    assert stats.commands == 0  # steady state: no command for the key
    now[0] = 10.1
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate(db, header)


async def test_a_request_costs_no_key_command_in_steady_state(wire_gateway: Gateway) -> None:
    async with wire_gateway.client(await wire_gateway.key("steady", "admin")) as client:
        with counting() as first:
            await client.post("/graphql", json={"query": "{ __typename }"})
        with counting() as second:
            await client.post("/graphql", json={"query": "{ __typename }"})
    assert (first.commands, second.commands) == (1, 0)


def test_cli_creates_lists_and_revokes_keys(mongo_uri: str) -> None:
    with pymongo.MongoClient(mongo_uri) as mongo:
        mongo["omnigw_cli_test"].drop_collection("api_keys")
    runner = CliRunner()
    env = {"MONGODB_URI": mongo_uri, "OMNIGW_DATABASE": "omnigw_cli_test"}
    created = runner.invoke(cli, ["keys", "create", "--name", "cli-partner", "--role",
                                  "partner", "--channel", "ch_us_market", "--channel",
                                  "ch_my_market"], env=env)
    assert created.exit_code == 0, created.output
    key = created.stdout.splitlines()[0]
    assert key.startswith("omnigw_")
    again = runner.invoke(cli, ["keys", "create", "--name", "cli-partner", "--role", "admin"],
                          env=env)
    assert again.exit_code == 1
    assert "exists already" in again.output
    listed = runner.invoke(cli, ["keys", "list"], env=env)
    assert listed.exit_code == 0
    assert "cli-partner" in listed.stdout and "ch_my_market,ch_us_market" in listed.stdout
    router = runner.invoke(cli, ["keys", "create", "--name", "cli-router", "--role",
                                 "federation"], env=env)
    assert router.exit_code == 0, router.output
    rows = {line.split()[1]: line for line in
            runner.invoke(cli, ["keys", "list"], env=env).stdout.splitlines()[1:]}
    assert rows["cli-router"].endswith(" (none)")  # a federation key sees no channel
    assert key not in listed.stdout
    revoked = runner.invoke(cli, ["keys", "revoke", "cli-partner"], env=env)
    assert (revoked.exit_code, revoked.stdout) == (0, "revoked cli-partner\n")
    assert runner.invoke(cli, ["keys", "revoke", "cli-partner"], env=env).exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "partner"], "A partner key needs at least one --channel."),
        (["--role", "admin", "--channel", "ch_us_market"], "An admin key sees every channel"),
        (["--role", "root"], "Role must be one of admin, partner, federation"),
        (["--role", "partner", "--channel", "loc_x"], "Malformed channel 'loc_x'"),
    ],
)
def test_cli_refuses_bad_key_specs(mongo_uri: str, args: list[str], message: str) -> None:
    env = {"MONGODB_URI": mongo_uri, "OMNIGW_DATABASE": "omnigw_cli_test"}
    result = CliRunner().invoke(cli, ["keys", "create", "--name", "bad", *args], env=env)
    assert result.exit_code == 2
    assert message in result.output


def test_cli_needs_mongodb() -> None:
    result = CliRunner().invoke(cli, ["keys", "list"], env={"MONGODB_URI": ""})
    assert result.exit_code == 2
    assert "MONGODB_URI is not set" in result.output


def test_production_with_mongodb_needs_a_pepper() -> None:
    with pytest.raises(ValidationError, match="OMNIGW_KEY_PEPPER must be set"):
        Settings(production=True, mongodb_uri="mongodb://127.0.0.1:1")
    assert Settings(production=True, mongodb_uri="mongodb://127.0.0.1:1",
                    key_pepper="a-long-server-secret").key_pepper is not None
    assert Settings(production=True, mongodb_uri=None).key_pepper is None  # embedded: dev pepper


async def test_a_key_verifies_only_with_its_pepper(embedded_gateway: Gateway) -> None:
    db = embedded_gateway.app.state.db
    key = await embedded_gateway.key("peppered", "admin")
    other = auth.Authenticator(embedded_settings(key_pepper="another-server-secret"))
    with pytest.raises(Unauthenticated):
        await other.authenticate(db, f"Bearer {key}")


async def test_demo_keys_are_created_printed_and_fixed_by_settings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = embedded_settings(demo_admin_key="demo-admin-key-fixed",
                                 demo_partner_key="demo-partner-key-fixed")
    with caplog.at_level(logging.WARNING, logger="gateway"):
        async for gateway in running_gateway(settings):
            async with gateway.client("demo-admin-key-fixed") as admin, \
                    gateway.client("demo-partner-key-fixed") as partner:
                assert len((await data(admin, "{ channels { id } }"))["channels"]) == 7
                assert await data(partner, "{ channels { id } }") == {
                    "channels": [{"id": "ch_my_market"}, {"id": "ch_us_market"}]}
    assert "demo admin key (every channel): demo-admin-key-fixed" in caplog.text
    assert ("demo partner key (ch_my_market, ch_us_market): demo-partner-key-fixed"
            in caplog.text)



async def test_websockets_need_a_key_in_the_handshake(embedded_gateway: Gateway) -> None:
    from gateway.web.gate import PRINCIPAL, Gate

    reached: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope.get(PRINCIPAL))

    gate = Gate(inner, embedded_gateway.settings, auth.Authenticator(embedded_gateway.settings))
    key = await embedded_gateway.key("ws-admin", "admin")
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    cases: list[tuple[list[tuple[bytes, bytes]], list[str | None], list[dict[str, Any]]]] = [
        # no key in the handshake: on to the view, which authenticates connection_init
        ([], [None], []),
        # a bad key in the handshake: closed at once
        ([(b"authorization", b"Bearer omnigw_wrong")], [], [{"type": "websocket.close",
                                                            "code": 4401}]),
        # a good one: on to the view with its principal
        ([(b"authorization", f"Bearer {key}".encode())], ["ws-admin"], []),
    ]
    for headers, expected, closed in cases:
        sent.clear()
        reached.clear()
        scope = {"type": "websocket", "path": "/graphql", "headers": headers,
                 "app": embedded_gateway.app}
        await gate(scope, receive, send)
        assert [p.name if p else None for p in reached] == expected
        assert sent == closed


async def test_graphiql_is_prefilled_with_the_demo_key_under_the_embedded_store(
    embedded_gateway: Gateway,
) -> None:
    # given the embedded store (make serve), which made a random demo admin key at start
    async with embedded_gateway.client(None) as browser:
        page = await browser.get("/graphql", headers={"Accept": "text/html"})
        # then the GraphiQL page's header editor holds it
        found = re.search(r"Bearer (omnigw_[A-Za-z0-9_-]+)", page.text)
        assert page.status_code == 200 and found is not None
    # and it is a working admin key
    async with embedded_gateway.client(found.group(1)) as client:
        body = (await client.post("/graphql", json={"query": "{ channels { id } }"})).json()
    assert len(body["data"]["channels"]) == len(SEEDS["channels"])


async def test_no_page_holds_a_key_in_production_mode() -> None:
    settings = embedded_settings(production=True, demo_admin_key="demo-admin-key-fixed")
    async for gateway in running_gateway(settings):
        async with gateway.client(None) as browser:
            page = await browser.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        assert "Bearer" not in page.text and "demo-admin-key-fixed" not in page.text
        assert "omnigw_" not in page.text
