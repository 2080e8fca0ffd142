"""SIGTERM on a real ``omnigw serve`` process: in-flight requests finish, the client closes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import httpx

from gateway.admission import keys
from gateway.database import connect
from tests.support import DATABASE, ROOT, SEEDS, free_port, wait_until_up, wire_settings

IN_FLIGHT = 50


async def test_sigterm_lets_50_slow_requests_finish_and_closes_the_database(
    seeded: str,
) -> None:
    # given a gateway process (omnigw serve, uvicorn) whose { channels } takes two seconds
    port = free_port()
    settings = wire_settings(seeded)
    db = connect(settings)
    try:
        key = await keys.create_key(db, settings, name="shutdown-test", role="admin",
                                    replace=True)
    finally:
        await db.close()
    env = {**os.environ, "MONGODB_URI": seeded, "OMNIGW_DATABASE": DATABASE,
           "PORT": str(port), "SLOW_SECONDS": "2"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.slow_serve", cwd=ROOT, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    stderr = asyncio.create_task(process.stderr.read())
    try:
        limits = httpx.Limits(max_connections=IN_FLIGHT)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                     limits=limits,
                                     headers={"Authorization": f"Bearer {key}"}) as client:
            await wait_until_up(client, process)
            # when 50 slow requests are in flight and SIGTERM arrives
            requests = [
                asyncio.create_task(client.post("/graphql", json={"query": "{ channels { id } }"}))
                for _ in range(IN_FLIGHT)
            ]
            started = 0
            while started < IN_FLIGHT:
                line = await asyncio.wait_for(process.stdout.readline(), 30)
                assert line, "the gateway exited early"
                started += line.strip() == b"SLOW-START"
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            responses = await asyncio.gather(*requests)
            print(f"all {IN_FLIGHT} answered {time.monotonic() - signalled:.2f} s after SIGTERM")
        # then every one of them finishes with its data
        expected = {"channels": [{"id": c["_id"]} for c in
                                 sorted(SEEDS["channels"], key=lambda c: c["_id"])]}
        assert [r.status_code for r in responses] == [200] * IN_FLIGHT
        assert all(r.json()["data"] == expected for r in responses)
        # and the process exits (uvicorn re-raises the signal once it has shut down gracefully)
        assert await asyncio.wait_for(process.wait(), 30) in (0, -signal.SIGTERM)
        # having closed its database client after the last response
        logs = [json.loads(line) for line in (await stderr).decode().splitlines()
                if line.startswith("{")]
        messages = [entry["message"] for entry in logs]
        assert "database client closed" in messages
        assert messages.index("database client closed") > max(
            i for i, m in enumerate(messages) if m.startswith("POST /graphql 200"))
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await stderr
