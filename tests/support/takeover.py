"""A request stalled past its lease, and the retry that takes its claim over: what the fenced
writes are tested with (gateway.commerce.idempotency, "Fenced work")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from gateway.clock import now
from gateway.database import Database
from gateway.database.writes import idempotency as claims


class Stall:
    """The first call of a patched write that ``matches`` waits until ``go`` is set
    (``there`` is set when it starts waiting): the request that makes it is stalled."""

    def __init__(self) -> None:
        self.there, self.go = asyncio.Event(), asyncio.Event()

    async def at(self, matches: bool) -> None:
        if matches and not self.there.is_set():
            self.there.set()
            await self.go.wait()


def first(stall: Stall, write: Callable[..., Awaitable[Any]],
          matches: Callable[..., bool]) -> Callable[..., Awaitable[Any]]:
    """``write``, whose first call with arguments that ``matches`` accepts waits on
    ``stall``."""
    async def stalled(*args: Any, **kwargs: Any) -> Any:
        await stall.at(matches(*args, **kwargs))
        return await write(*args, **kwargs)
    return stalled


def renew_no_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stalled process renews no lease (its renewals do not run either)."""

    async def renew_nothing(*args: Any, **kwargs: Any) -> bool:
        return False

    monkeypatch.setattr(claims, "renew", renew_nothing)


async def lease_runs_out(db: Database, claim_id: str) -> str:
    """The PENDING claim ``claim_id`` (``<caller>:<mutation>:<key>``) is past its lease: the
    result id it names."""
    claim = await db["idempotency"].find_one_and_update(
        {"_id": claim_id}, {"$set": {"lease_until": now() - timedelta(seconds=1)}})
    assert claim is not None and claim["status"] == "PENDING"
    result_id: str = claim["result_id"]
    return result_id


def stalled_then_down(stall: Stall, write: Callable[..., Awaitable[Any]],
                      matches: Callable[..., bool]) -> tuple[Callable[..., Awaitable[Any]],
                                                              list[tuple[Any, ...]]]:
    """``write`` whose first call that ``matches`` waits on ``stall`` (the stalled request's),
    and whose other calls that match fail while it waits (the retry's: that write's database
    is down); with the arguments of each call that failed."""
    failed: list[tuple[Any, ...]] = []

    async def down(*args: Any, **kwargs: Any) -> Any:
        if matches(*args, **kwargs) and stall.there.is_set() and not stall.go.is_set():
            failed.append(args)
            raise RuntimeError("the database is down for this write")
        return await write(*args, **kwargs)

    return first(stall, down, matches), failed
