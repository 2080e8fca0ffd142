"""HTTP throughput: ``omnigw serve`` under wrk, beside plain strawberry on Starlette.

Run by ``make bench`` (tests/benchmarks/member360.py) on the database it seeded, or alone:

    python -m tests.benchmarks.throughput --scale 2 --seconds 5

Three requests, each POSTed by wrk (the Debian package; ``make bench`` installs it when root)
on keep-alive connections for ``--seconds`` after a one-second warm-up:

- ``{ __typename }`` (8 connections): the cost of the path itself;
- ``{ channels { id name kind currency } }`` (8 connections): reference data, one find;
- one member's 360 (identities, lifetime value, summaries, history of 20 with lines; 4
  connections): 11 database commands.

The gateway runs as an operator runs it (one process, then ``--workers 2``), with an admin
key, so every request passes the gate (key lookup, cached; the cost bucket, shared through
MongoDB, whose lease spares most requests its findAndModify), the deadline and the telemetry
middleware; the bucket and the cost cap are raised so that nothing is refused. The plain app
(tests/benchmarks/plain_app.py) serves the first two from memory with strawberry's defaults.
Both answers are checked to be the same before the load. The printed figures: requests per
second, p50 and p99 (wrk's latency distribution), and the ratio of the gateway to the plain app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.admission import keys
from gateway.database import connect
from gateway.settings import Settings
from tests.test_member360 import MEMBER_360

ROOT = Path(__file__).resolve().parents[2]
TYPENAME = "{ __typename }"
CHANNELS = "{ channels { id name kind currency } }"
# (name, query, connections, compared with the plain app)
LOADS: list[tuple[str, str, int, bool]] = [
    ("typename", TYPENAME, 8, True),
    ("channels", CHANNELS, 8, True),
    ("member360", MEMBER_360, 4, False),
]
LUA = """wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{auth}
"""


@dataclass
class Result:
    """One wrk run: requests per second and latency percentiles (ms)."""

    rps: float
    p50: float
    p99: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", output, re.MULTILINE))
    if "50" not in latency or "99" not in latency:
        raise RuntimeError(f"no latency distribution in wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Result(rps=rps, p50=_ms(latency["50"]), p99=_ms(latency["99"]), errors=errors)


async def wrk(url: str, body: dict[str, Any], *, key: str | None, connections: int,
              seconds: float) -> Result:
    """``wrk`` POSTing ``body`` to ``url`` (one thread: it shares the machine's cores)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(
            body=json.dumps(json.dumps(body)),
            auth=f'wrk.headers["Authorization"] = "Bearer {key}"' if key else ""))
    try:
        async def run(duration: float) -> str:
            process = await asyncio.create_subprocess_exec(
                "wrk", "-t1", f"-c{connections}", f"-d{round(duration)}s", "--latency", "-s",
                script.name, url, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT)
            out, _ = await process.communicate()
            if process.returncode != 0:
                raise RuntimeError(f"wrk failed: {out.decode()}")
            return out.decode()

        await run(1)  # warm-up: connections, caches
        return parse_wrk(await run(seconds))
    finally:
        os.unlink(script.name)


class Served:
    """A server process started here, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, args: list[str], env: dict[str, str], url: str) -> None:
        self.args, self.env, self.url = args, env, url
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Served:
        self.process = await asyncio.create_subprocess_exec(
            *self.args, env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                if self.process.returncode is not None:
                    break
                try:
                    await client.post(self.url, json={"query": TYPENAME})
                    return self
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        stderr = await self.process.stderr.read() if self.process.stderr else b""
        raise RuntimeError(f"{self.args[0]} did not start: {stderr.decode()[-2000:]}")

    async def __aexit__(self, *exc: object) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.communicate(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


def gateway_server(uri: str, database: str, workers: int) -> Served:
    port = free_port()
    env = {**os.environ, "MONGODB_URI": uri, "OMNIGW_DATABASE": database,
           "OMNIGW_LOG_LEVEL": "WARNING", "OMNIGW_ENV_FILE": "",
           "OMNIGW_THROTTLE_BUCKET_SIZE": "10000000",
           "OMNIGW_THROTTLE_RESTORE_RATE": "10000000", "OMNIGW_MAX_COST": "100000"}
    return Served([str(Path(sys.executable).parent / "omnigw"), "serve", "--port", str(port),
                   "--workers", str(workers)], env, f"http://127.0.0.1:{port}/graphql")


def plain_server(uri: str, database: str) -> Served:
    port = free_port()
    env = {**os.environ, "OMNIGW_PLAIN_MONGODB_URI": uri, "OMNIGW_PLAIN_DATABASE": database}
    return Served([sys.executable, "-m", "uvicorn", "tests.benchmarks.plain_app:create_app",
                   "--factory", "--port", str(port), "--no-access-log", "--log-level",
                   "warning"], env, f"http://127.0.0.1:{port}/graphql")


async def answer(url: str, body: dict[str, Any], key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        response = await client.post(url, json=body)
    response.raise_for_status()
    found = response.json()
    assert not found.get("errors"), found["errors"]
    return found["data"]


async def measure(uri: str, database: str, *, seconds: float, member: str,
                  workers: tuple[int, ...] = (1, 2)) -> dict[str, Result]:
    """Every load on the plain app and on the gateway with each number of ``workers``; the
    results by ``"<load> plain"`` and ``"<load> gateway <workers>"``."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: install the Debian package 'wrk' (make bench does "
                           "when root)")
    settings = Settings(mongodb_uri=uri, database=database)
    db = connect(settings)
    try:
        key = await keys.create_key(db, settings, name="bench-admin", role="admin",
                                    replace=True)
    finally:
        await db.close()
    bodies = {name: {"query": query, "variables": {"id": member}} if "$id" in query
              else {"query": query} for name, query, _, _ in LOADS}
    results: dict[str, Result] = {}
    async with plain_server(uri, database) as plain:
        for name, _, connections, compared in LOADS:
            if compared:
                results[f"{name} plain"] = await wrk(plain.url, bodies[name], key=None,
                                                     connections=connections, seconds=seconds)
        expected = {name: await answer(plain.url, bodies[name], None)
                    for name, _, _, compared in LOADS if compared}
    for count in workers:
        async with gateway_server(uri, database, count) as served:
            for name, _, connections, compared in LOADS:
                if compared:
                    got = await answer(served.url, bodies[name], key)
                    assert got == expected[name], f"{name}: the gateway and the plain app differ"
                results[f"{name} gateway {count}"] = await wrk(
                    served.url, bodies[name], key=key, connections=connections, seconds=seconds)
    return results


def report(results: dict[str, Result]) -> str:
    """A table of every run, and the one-line summary (returned)."""
    print(f"{'http':<28}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs plain':>10}")
    for label, result in results.items():
        name = label.split()[0]
        plain = results.get(f"{name} plain")
        ratio = f"{result.rps / plain.rps:.2f}x" if plain and "plain" not in label else ""
        print(f"{label:<28}{result.rps:>10.0f}{result.p50:>9.1f}{result.p99:>9.1f}"
              f"{result.errors:>8}{ratio:>10}")
    one = {name: results[f"{name} gateway 1"] for name, _, _, _ in LOADS}
    two = {name: results.get(f"{name} gateway 2") for name, _, _, _ in LOADS}
    fields = []
    for name, result in one.items():
        fields.append(f"{name}_rps={result.rps:.0f}")
        plain = results.get(f"{name} plain")
        if plain:
            fields.append(f"{name}_vs_plain={result.rps / plain.rps:.2f}")
        fields.append(f"{name}_p50_ms={result.p50:.1f} {name}_p99_ms={result.p99:.1f}")
        if two[name]:
            fields.append(f"{name}_workers2_rps={two[name].rps:.0f}")  # type: ignore[union-attr]
    return "http " + " ".join(fields)


async def main() -> None:
    from tests.benchmarks.member360 import seeded_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=2, help="demo data scale")
    parser.add_argument("--seconds", type=float, default=5, help="seconds of load per run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    async with seeded_server(args.scale) as (uri, database, members):
        results = await measure(uri, database, seconds=args.seconds, member=members[0],
                                workers=tuple(args.workers))
    print(report(results))


if __name__ == "__main__":
    asyncio.run(main())
