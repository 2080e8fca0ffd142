"""Liveness on a real ``omnigw serve`` process whose database client gets stuck
(``tests/support/stuck_serve.py``): ``/healthz`` fails so that an orchestrator replaces the process,
readiness does not hang, and SIGTERM still ends the process within the graceful period."""

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
from tests.support import DATABASE, ROOT, free_port, wait_until_up, wire_settings

GRACE = 4
STUCK_SECONDS = 1


async def test_a_stuck_client_fails_liveness_and_sigterm_still_ends_the_process(
    seeded: str,
) -> None:
    # given a gateway whose database client gets stuck a second after start-up
    port = free_port()
    settings = wire_settings(seeded)
    db = connect(settings)
    try:
        key = await keys.create_key(db, settings, name="liveness-test", role="admin",
                                    replace=True)
    finally:
        await db.close()
    env = {**os.environ, "MONGODB_URI": seeded, "OMNIGW_DATABASE": DATABASE,
           "PORT": str(port), "STUCK_AFTER": "1",
           "OMNIGW_LIVENESS_STUCK_SECONDS": str(STUCK_SECONDS),
           "OMNIGW_GRACEFUL_SHUTDOWN_SECONDS": str(GRACE)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.stuck_serve", cwd=ROOT, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    stderr = asyncio.create_task(process.stderr.read())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                     headers={"Authorization": f"Bearer {key}"}) as client:
            await wait_until_up(client, process)
            assert (await client.get("/healthz")).status_code == 200
            while (line := await asyncio.wait_for(process.stdout.readline(), 30)) != b"STUCK\n":
                assert line, "the gateway exited"
            stuck = time.monotonic()
            # then liveness fails once the watchdog's ping has been out for a second
            for _ in range(100):
                health = await client.get("/healthz")
                if health.status_code == 503:
                    break
                await asyncio.sleep(0.1)
            failed_after = time.monotonic() - stuck
            assert health.status_code == 503
            assert health.json()["status"] == "stuck"
            assert failed_after < STUCK_SECONDS + 3  # + the watchdog's interval and ping
            # readiness says 503 at once instead of waiting on the stuck client
            asked = time.monotonic()
            assert (await client.get("/readyz")).status_code == 503
            assert time.monotonic() - asked < 1.0
            # a request now waits on the stuck client
            query = {"query": "{ channels { id } }"}
            hung = asyncio.create_task(client.post("/graphql", json=query))
            await asyncio.sleep(0.5)
            assert not hung.done()
            # when SIGTERM arrives
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            await asyncio.wait_for(process.wait(), GRACE + 10)
            exited_after = time.monotonic() - signalled
            await asyncio.gather(hung, return_exceptions=True)
        print(f"liveness failed {failed_after:.2f} s after the client got stuck; "
              f"SIGTERM: exited after {exited_after:.2f} s")
        # then the process exits within the graceful period, the hung request cut
        assert exited_after < GRACE
        assert process.returncode in (0, -signal.SIGTERM)
        messages = [json.loads(line)["message"] for line in (await stderr).decode().splitlines()
                    if line.startswith("{")]
        assert any(m.startswith("the database client is stuck") for m in messages)
        assert any(m.startswith("shutdown: database client did not stop") for m in messages)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await stderr
