"""How much of the code one field runs: the files and functions of gateway/ and resolvers/ on
the path from ``Member.history`` to its MongoDB queries, and from ``placeOrder`` to its writes.

    python -m tests.benchmarks.paths [history|placeOrder ...]

Each field is sent once to a gateway on the embedded store (after a warm-up request). A
profile hook records every function of gateway/ and resolvers/ that is called from the moment
the field's resolver starts until it returns, in its task and in the tasks it starts
(DataLoader batches inherit the mark through the context); a coroutine resumed after an await
is not a new call. The count includes what every request pays on the way (the loaders'
spans and metrics, command counting, the embedded store's adapter), so a number is comparable
with the same command on another version, not across commands.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import sys
import types
from pathlib import Path
from typing import Any

import httpx

from gateway.admission.keys import create_key
from gateway.app import create_app
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MARK: contextvars.ContextVar[bool] = contextvars.ContextVar("paths_mark", default=False)

HISTORY = '{ member(id: "mem_00001") { history(first: 5) { edges { node { __typename } } } } }'
PLACE = """mutation($sku: ID!) { placeOrder(input: {channel: "ch_my_market", member: "mem_00001",
  idempotencyKey: "paths-1", lines: [{sku: $sku, quantity: 1}]}) {
  order { id } userErrors { code message } } }"""
FIELDS = {  # field -> (document, resolver's file, resolver's function, type it returns)
    "history": (HISTORY, "resolvers/members.py", "history", "Connection"),
    "placeOrder": (PLACE, "resolvers/mutations/orders.py", "place_order", "PlaceOrderPayload"),
}


def hook(target: tuple[str, str, str], seen: dict[str, set[str]]) -> Any:
    file, function, returned = target

    def profile(frame: types.FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if not code.co_filename.startswith(str(ROOT)):
            return
        where = str(Path(code.co_filename).relative_to(ROOT))
        if event == "return" and code.co_name == function and type(arg).__name__ == returned:
            MARK.set(False)
            return
        # a new call stops at RESUME 0; a coroutine resumed after an await at RESUME 1..3
        if event != "call" or code.co_code[frame.f_lasti + 1] != 0:
            return
        if where == file and code.co_name == function:
            MARK.set(True)
        if MARK.get() and where.startswith(("gateway/", "resolvers/")):
            seen.setdefault(where, set()).add(f"{code.co_name}:{code.co_firstlineno}")

    return profile


async def measure(field: str) -> dict[str, set[str]]:
    document, *target = FIELDS[field]
    settings = Settings(mongodb_uri=None, debug_db_stats=True)
    app = create_app(settings)
    seen: dict[str, set[str]] = {}
    async with app.router.lifespan_context(app):
        key = await create_key(app.state.db, settings, name="paths", role="admin", replace=True)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x",
                                     headers={"Authorization": f"Bearer {key}"}) as client:
            products = await client.post("/graphql", json={"query": """{ products(first: 100,
                filter: {channel: "ch_my_market"}) { edges { node { sku
                offers { available channel { id } } } } } }"""})
            sku = next(e["node"]["sku"] for e in products.json()["data"]["products"]["edges"]
                       if any(o["available"] and o["channel"]["id"] == "ch_my_market"
                              for o in e["node"]["offers"]))
            sys.setprofile(hook((target[0], target[1], target[2]), seen))
            try:
                response = await client.post("/graphql", json={"query": document,
                                                               "variables": {"sku": sku}})
            finally:
                sys.setprofile(None)
    body = response.json()
    assert "errors" not in body, body["errors"]
    print(f"{field}: {len(seen)} files, {sum(map(len, seen.values()))} functions, "
          f"database commands {body['extensions']['db']['byCollection']}")
    for where in sorted(seen):
        print(f"  {where}: {len(seen[where])}")
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fields", nargs="*", help=f"of {', '.join(FIELDS)} (default: all)")
    fields = parser.parse_args().fields or list(FIELDS)
    for field in fields:
        if field not in FIELDS:
            parser.error(f"unknown field {field!r}")
        asyncio.run(measure(field))


if __name__ == "__main__":
    main()
