"""Serve an app with a real uvicorn on a free loopback port, inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette


@asynccontextmanager
async def serving(app: Starlette, **options: Any) -> AsyncIterator[str]:
    """Yield ``http://127.0.0.1:<port>`` while uvicorn serves ``app`` (lifespan included);
    ``options`` go to ``uvicorn.Config``."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_config=None,
                            access_log=False, ws="websockets-sansio", **options)
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)
        if not server.started:
            task.result()  # raises the start-up error, if any
            raise RuntimeError("uvicorn did not start within 10 s")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def wait_until_up(client: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    for _ in range(300):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            assert process.returncode is None, "the gateway exited at start-up"
        await asyncio.sleep(0.1)
    raise AssertionError("the gateway did not start within 30 s")
