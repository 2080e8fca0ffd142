"""Make PyMongo's condition waits safe to cancel on Python 3.11 (the cause of a wedged client).

**The wedge.** PyMongo's async topology guards its state with one lock; server selection holds
it (``async with topology._lock``) and, while no server is selectable, waits on a condition of
that lock with ``pymongo.lock._async_cond_wait``, which is ``asyncio.wait_for(condition.wait(),
0.5)``. On Python 3.11, ``wait_for`` runs ``condition.wait()`` in a *second* task. When its
0.5 s are up it cancels that task and waits for it to re-acquire the lock
(``_cancel_and_wait``). If the *outer* task is cancelled during that wait (a caller's
``asyncio.wait_for`` timing out, a sibling GraphQL field failing, a client going away),
``wait_for`` returns at once, the ``async with`` block releases the lock, and only then does
the inner task re-acquire it:

- the release either frees a lock another task holds (two holders) or fails with
  ``RuntimeError: Lock is not acquired``; a later ``Condition.wait`` can fail with
  ``RuntimeError: cannot wait on un-acquired lock``;
- the inner task then takes the lock and ends holding it. Nobody releases it again: every
  server selection, every monitor update and ``client.close()`` waits on it for ever. The
  client sends nothing (no TCP connection is opened again), readiness stays 503, requests
  hang, and shutdown hangs in ``close()``.

It needs MongoDB to be unreachable (so selection waits on the condition) and a cancellation
landing in the short window after an internal 0.5 s timeout, which readiness checks
(``wait_for(ping, 1 s)``) polled every 100 ms under load hit within a few outages
(``python -m tests.fault_cycles`` reproduces it on an unpatched client). Python 3.12 rewrote
``asyncio.wait_for`` on ``asyncio.timeout``: the condition wait then runs in the caller's own
task, which re-acquires the lock before any cancellation leaves the ``async with`` block.

:func:`install` gives Python 3.11 that behaviour: it replaces ``_async_cond_wait`` (in
``pymongo.lock`` and in the two modules that imported it, the topology and the connection
pool) with the same wait under ``asyncio.timeout``, in the caller's task. It changes nothing
on Python 3.12 and later. The gateway does not cancel PyMongo operations itself (the request
deadline is PyMongo's own ``pymongo.timeout``, see ``gateway.deadline``); this makes the
cancellations it cannot avoid harmless.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pymongo.asynchronous.pool
import pymongo.asynchronous.topology
import pymongo.lock

_MODULES = (pymongo.lock, pymongo.asynchronous.topology, pymongo.asynchronous.pool)
NEEDED = sys.version_info < (3, 12)
PYMONGO_WAIT = pymongo.lock._async_cond_wait  # PyMongo's own, kept for tests/test_cancellation.py


async def condition_wait(condition: Any, timeout: float | None) -> bool:  # noqa: ASYNC109
    # (the signature is PyMongo's ``_async_cond_wait``, which this replaces)
    """Wait on ``condition`` (whose lock the caller holds) for up to ``timeout`` seconds, in
    the caller's task: True when notified, False on timeout. On cancellation the lock is held
    again before ``CancelledError`` leaves, as ``async with`` expects."""
    try:
        async with asyncio.timeout(timeout):
            return bool(await condition.wait())
    except TimeoutError:
        return False


def install() -> None:
    """Use :func:`condition_wait` inside PyMongo (idempotent; nothing on Python 3.12+)."""
    if not NEEDED:
        return
    for module in _MODULES:
        module._async_cond_wait = condition_wait  # type: ignore[attr-defined]


def installed() -> bool:
    """True when PyMongo's condition waits are safe to cancel."""
    return not NEEDED or all(
        getattr(module, "_async_cond_wait", None) is condition_wait for module in _MODULES
    )
