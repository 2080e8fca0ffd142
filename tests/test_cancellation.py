"""PyMongo's topology lock survives a cancelled server selection (gateway.database.cancellation).

The sequence is the one that wedged the gateway: a server selection waits on the topology's
condition, its internal 0.5 s wait times out, and while it waits for the condition's lock back
(another task holds it) the selection is cancelled from outside.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from pymongo.lock import _async_create_condition, _async_create_lock

from gateway.database import cancellation, connect
from gateway.settings import Settings

Wait = Callable[[object, float | None], Awaitable[bool]]


async def cancel_during_the_reacquire(wait: Wait) -> tuple[bool, list[str]]:
    """Run the wedging sequence with ``wait`` as the condition wait; whether the lock is left
    held by nobody, and the errors the other holder saw."""
    lock = _async_create_lock()
    condition = _async_create_condition(lock)
    errors: list[str] = []

    async def select_server() -> None:  # as Topology.select_servers does
        async with lock:
            await wait(condition, 0.05)

    selection = asyncio.create_task(select_server())
    await asyncio.sleep(0.01)
    await lock.acquire()  # another task (a monitor's update) holds the lock...
    await asyncio.sleep(0.1)  # ...while the selection's wait times out and wants it back
    selection.cancel()  # a caller gives up on the selection
    await asyncio.sleep(0)
    try:
        lock.release()  # the other task is done
    except RuntimeError as exc:
        errors.append(str(exc))
    await asyncio.gather(selection, return_exceptions=True)
    await asyncio.sleep(0.01)
    return lock.locked(), errors


async def test_a_cancelled_selection_leaves_the_lock_free() -> None:
    # given PyMongo's condition wait as the gateway installs it when it connects
    await connect(Settings(mongodb_uri="mongodb://127.0.0.1:1")).close()
    assert cancellation.installed()
    # when a selection is cancelled while it waits for the lock back
    held, errors = await cancel_during_the_reacquire(cancellation.condition_wait)
    # then the lock is free again and its holder released it normally
    assert (held, errors) == (False, [])


@pytest.mark.skipif(not cancellation.NEEDED, reason="Python 3.12+ waits in the caller's task")
async def test_pymongo_own_wait_wedges_on_this_python() -> None:
    # PyMongo's own wait (asyncio.wait_for on Python 3.11) leaves the lock held for ever:
    # when this starts failing, PyMongo has fixed it and gateway.database.cancellation can go.
    held, errors = await cancel_during_the_reacquire(cancellation.PYMONGO_WAIT)
    assert (held, errors) == (True, ["Lock is not acquired"])
