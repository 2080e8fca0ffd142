"""A real federation: our gateway, a partner subgraph and Apollo Gateway, all on loopback.

Our gateway runs under uvicorn on the wire server (its own database, loaded from seeds/); the
partner subgraph (tests/federation/partner.mjs) and Apollo Gateway with IntrospectAndCompose
(tests/federation/gateway.mjs) run under Node. The npm packages come from
tests/federation/package-lock.json (``make test`` runs ``npm ci``). Without Node or npm the
tests fail with a message: they never skip.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.admission import keys
from gateway.database import connect, seeding
from gateway.money import to_decimal
from gateway.settings import Settings
from tests.support import ROOT, SEEDS

FEDERATION = ROOT / "tests" / "federation"
INSTALLED = FEDERATION / "node_modules" / ".installed"
DATABASE = "omnigw_federation"
START_TIMEOUT = 60.0


def require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(
            f"`{tool}` is not on PATH: the federation tests need Node.js 20+ and npm "
            "(Apollo Gateway and the partner subgraph run under Node).",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with the npm packages of tests/federation installed."""
    binary = require("node")
    require("npm")
    if not INSTALLED.exists():
        pytest.fail(
            "tests/federation/node_modules is missing: run `make test` (it runs `npm ci` there) "
            "or `npm ci` in tests/federation.",
            pytrace=False,
        )
    return binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Service:
    """A subprocess on a loopback port, its log file, and how to stop it."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-30:])

    def wait_until(self, ready: Callable[[], bool], *, also: list[Service]) -> None:
        """Wait for ``ready()``; fail with the log of any of ``also`` (or self) that exits."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for service in [*also, self]:
                if service.process.poll() is not None:
                    pytest.fail(f"{service.name} exited ({service.process.returncode}):\n"
                                f"{service.log_tail()}", pytrace=False)
            try:
                if ready():
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        tails = "\n".join(f"--- {s.name}\n{s.log_tail()}" for s in [*also, self])
        pytest.fail(f"{self.name} not ready after {START_TIMEOUT:.0f}s:\n{tails}", pytrace=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(name: str, args: list[str], env: dict[str, str], logs: Path, path: str) -> Service:
    """Start ``args`` on a free loopback port (``{port}`` in an argument, and $PORT)."""
    port = free_port()
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [arg.replace("{port}", str(port)) for arg in args],
            cwd=ROOT, env={**env, "PORT": str(port)}, stdout=out, stderr=subprocess.STDOUT,
        )
    return Service(name, f"http://127.0.0.1:{port}{path}", process, log)


def node_env() -> dict[str, str]:
    """Our environment without Apollo credentials, and with Apollo's telemetry off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APOLLO_")}
    return {**env, "APOLLO_TELEMETRY_DISABLED": "1", "NODE_ENV": "test"}


def answers_graphql(url: str) -> Callable[[], bool]:
    return lambda: httpx.post(url, json={"query": "{ __typename }"}, timeout=2).status_code == 200


@pytest.fixture(scope="module")
async def federation_db(mongo_uri: str) -> tuple[str, str]:
    """The demo data in a database of its own, so that no other test's writes reach it, and
    the admin key the router presents."""
    settings = Settings(mongodb_uri=mongo_uri, database=DATABASE)
    db = connect(settings)
    try:
        for name in [*seeding.COLLECTIONS, "api_keys"]:
            await db[name].drop()
        await seeding.load(db, seeding.read_seed_files(ROOT / "seeds"))
        key = await keys.create_key(db, settings, name="router", role="admin")
    finally:
        await db.close()
    return mongo_uri, key


@pytest.fixture(scope="module")
def supergraph(
    node: str, federation_db: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of Apollo Gateway over our gateway and the partner subgraph."""
    logs = tmp_path_factory.mktemp("federation")
    services: list[Service] = []
    try:
        # All three start at once: Apollo Gateway waits for both subgraphs before composing.
        ours = start(
            "omnigw",
            [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
            {**os.environ, "MONGODB_URI": federation_db[0], "OMNIGW_DATABASE": DATABASE},
            logs, "/graphql",
        )
        services.append(ours)
        partner = start("partner", [node, str(FEDERATION / "partner.mjs")], node_env(), logs, "/")
        services.append(partner)
        apollo = start(
            "apollo-gateway", [node, str(FEDERATION / "gateway.mjs")],
            {**node_env(), "OMNIGW_URL": ours.url, "PARTNER_URL": partner.url,
             "OMNIGW_KEY": federation_db[1]}, logs, "/",
        )
        services.append(apollo)
        apollo.wait_until(answers_graphql(apollo.url), also=[ours, partner])
        yield apollo.url
    finally:
        for service in reversed(services):
            service.stop()


def federated(url: str, query: str) -> dict[str, Any]:
    """POST ``query`` to Apollo Gateway; the ``data`` of an answer without errors."""
    response = httpx.post(url, json={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def seed(collection: str, _id: str) -> dict[str, Any]:
    return next(d for d in SEEDS[collection] if d["_id"] == _id)


def order_fields(order_id: str) -> dict[str, Any]:
    order = seed("orders", order_id)
    return {
        "id": order_id,
        "status": order["status"],
        "placedAt": order["placed_at"].isoformat(),
        "total": {"amount": str(to_decimal(order["total"], order["currency"])),
                  "currencyCode": order["currency"]},
    }


MEMBER_WITH_PARTNER_FIELDS = """{
  member(id: "mem_00042") {
    id name tier
    partnerAccount { accountId serviceLevel }
    shipments { trackingNumber status order { id status placedAt total { amount currencyCode } } }
  }
  stranger: member(id: "mem_00001") { id partnerAccount { accountId } shipments { status } }
}"""


def test_partner_fields_on_our_member(supergraph: str) -> None:
    # Given a member the partner ships for, and one it does not know
    # When the supergraph is asked for our fields and the partner's
    result = federated(supergraph, MEMBER_WITH_PARTNER_FIELDS)
    # Then ours come from our gateway, the partner's from the partner, and the partner's
    # shipments lead back to our orders
    assert result == {
        "member": {
            "id": "mem_00042", "name": "Kittisak Srisuk", "tier": "GOLD",
            "partnerAccount": {"accountId": "KX-1001", "serviceLevel": "EXPRESS"},
            "shipments": [
                {"trackingNumber": "KX4170001MY", "status": "DELIVERED",
                 "order": order_fields("ord_0000417")},
                {"trackingNumber": "KX4440002MY", "status": "DELIVERED",
                 "order": order_fields("ord_0000444")},
            ],
        },
        "stranger": {"id": "mem_00001", "partnerAccount": None, "shipments": []},
    }
    assert result["member"]["shipments"][0]["order"]["total"] == {
        "amount": "246.10", "currencyCode": "MYR"
    }


SHIPMENTS = """{
  shipments {
    trackingNumber status
    order { id status placedAt total { amount currencyCode } channel { id currency }
            member { id name } }
  }
}"""


def test_partner_shipments_resolve_our_orders(supergraph: str) -> None:
    # Given the partner's shipments, which know only our order ids
    # When the supergraph is asked for them with our order fields
    result = federated(supergraph, SHIPMENTS)
    # Then our gateway resolves each order (and its channel and member) through _entities
    def shipped(tracking: str, status: str, order_id: str, member: dict[str, str]) -> Any:
        return {"trackingNumber": tracking, "status": status,
                "order": {**order_fields(order_id),
                          "channel": {"id": "ch_my_market", "currency": "MYR"},
                          "member": member}}

    kittisak = {"id": "mem_00042", "name": "Kittisak Srisuk"}
    wei_ling = {"id": "mem_00025", "name": "Wei Ling Abdullah"}
    assert result == {"shipments": [
        shipped("KX4170001MY", "DELIVERED", "ord_0000417", kittisak),
        shipped("KX4440002MY", "DELIVERED", "ord_0000444", kittisak),
        shipped("KX7180003MY", "RETURNED", "ord_0000718", wei_ling),
    ]}
    assert result["shipments"][2]["order"]["status"] == "CANCELLED"


ACCOUNTS = """{
  partnerAccounts {
    accountId
    identity { channelId externalId member { id name identities { channelId externalId } } }
  }
}"""


def test_partner_account_ids_reach_our_members_through_identity(supergraph: str) -> None:
    # Given partner accounts that know only the marketplace's customer ids
    # When the supergraph follows them to our members
    result = federated(supergraph, ACCOUNTS)
    # Then the Identity entity leads to each member's whole cross-channel record
    def identities(member_id: str) -> list[dict[str, str]]:
        return [{"channelId": i["channel_id"], "externalId": i["external_id"]}
                for i in sorted(SEEDS["identities"], key=lambda i: i["channel_id"])
                if i["member_id"] == member_id]

    assert result == {"partnerAccounts": [
        {"accountId": "KX-1001", "identity": {
            "channelId": "ch_my_market", "externalId": "mym_3195666324",
            "member": {"id": "mem_00042", "name": "Kittisak Srisuk",
                       "identities": identities("mem_00042")}}},
        {"accountId": "KX-1002", "identity": {
            "channelId": "ch_my_market", "externalId": "mym_3227619563",
            "member": {"id": "mem_00025", "name": "Wei Ling Abdullah",
                       "identities": identities("mem_00025")}}},
    ]}
    assert len(identities("mem_00042")) >= 3


def compose(node: str, partner_sdl: Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [node, str(FEDERATION / "compose.mjs"), str(ROOT / "schema.graphql"), str(partner_sdl)],
        cwd=FEDERATION, capture_output=True, timeout=120, check=False,
    )
    assert done.stdout, done.stderr.decode(errors="replace")
    result: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, result


def test_our_sdl_composes_with_the_partner_sdl(node: str) -> None:
    # Given schema.graphql and the partner's SDL
    # When @apollo/composition composes them
    code, result = compose(node, FEDERATION / "partner.graphql")
    # Then there is no error and not even a hint
    assert (code, result) == (0, {"ok": True, "errors": [], "hints": []})


CONFLICTING_PARTNER = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Member @key(fields: "id") {
  id: ID!
  points: String!
}
type Query { topMember: Member }
"""


def test_composition_check_fails_on_a_conflicting_partner(node: str, tmp_path: Path) -> None:
    # Given a partner that redefines one of our member fields with another type
    partner = tmp_path / "conflicting.graphql"
    partner.write_text(CONFLICTING_PARTNER)
    # When it is composed with ours
    code, result = compose(node, partner)
    # Then the check fails and names the conflict
    assert code == 1
    assert [e["code"] for e in result["errors"]] == ["FIELD_TYPE_MISMATCH",
                                                     "INVALID_FIELD_SHARING"]
    assert result["ok"] is False
