"""``omnigw serve`` whose database client gets stuck: the liveness and shutdown test.

Run as ``python -m tests.support.stuck_serve [serve options]``. ``STUCK_AFTER`` seconds after
start-up it takes the PyMongo topology's lock and never gives it back (the state the wedge
described in ``gateway.database.cancellation`` left clients in), then prints ``STUCK``.
Everything else is the real command, the real uvicorn and the real app.
"""

from __future__ import annotations

import asyncio
import os
import sys

from gateway import app
from gateway.cli import main
from gateway.database import Database
from gateway.settings import Settings

STUCK_AFTER = float(os.environ.get("STUCK_AFTER", "1"))
_connect = app.connect
_wedges: set[asyncio.Task[None]] = set()


def connect_then_wedge(settings: Settings) -> Database:
    db = _connect(settings)

    async def wedge() -> None:
        await asyncio.sleep(STUCK_AFTER)
        await db.client._topology._lock.acquire()
        print("STUCK", flush=True)

    _wedges.add(asyncio.get_running_loop().create_task(wedge()))
    return db


if __name__ == "__main__":
    app.connect = connect_then_wedge  # type: ignore[assignment]
    main.app(["serve", *sys.argv[1:]])
