"""Counts the database commands each request sends.

A context variable holds the current request's :class:`CommandStats`; PyMongo's command
listener (and the embedded store's adapter) add to it. DataLoader batches run in tasks created
from the request's context, so their commands are counted too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from pymongo import monitoring

# Commands the driver sends on its own (handshakes, monitoring, session clean-up).
_DRIVER_COMMANDS = frozenset({"hello", "ismaster", "isMaster", "endSessions", "killCursors"})


@dataclass
class CommandStats:
    """The commands of one request: total, per collection and per command name."""

    commands: int = 0
    by_collection: Counter[str] = field(default_factory=Counter)
    by_command: Counter[str] = field(default_factory=Counter)

    def record(self, command: str, collection: str | None) -> None:
        self.commands += 1
        self.by_command[command] += 1
        self.by_collection[collection or "admin"] += 1

    def as_extension(self) -> dict[str, Any]:
        """The ``extensions.db`` entry of a response."""
        return {"commands": self.commands, "byCollection": dict(sorted(self.by_collection.items()))}


class CommandObserver(Protocol):
    """Sees every command (metrics, traces). ``key`` pairs a start with its finish; it is
    ``None`` for the embedded store, whose commands have no separate finish."""

    def started(self, command: str, collection: str | None, key: object) -> None: ...

    def finished(self, key: object, failure: str | None) -> None: ...


observers: list[CommandObserver] = []
"""Process-wide observers, installed once by the application (see ``gateway.telemetry``)."""


def _no_span(database: str, command: str, collection: str | None) -> AbstractContextManager[None]:
    return nullcontext()


command_span: Callable[[str, str, str | None], AbstractContextManager[None]] = _no_span
"""The span of one command of the embedded store, lasting as long as the command runs (a real
MongoDB's commands get theirs from PyMongo's instrumentation); tracing installs its own, see
:func:`gateway.telemetry.tracing.install`."""


current_stats: ContextVar[CommandStats | None] = ContextVar("omnigw_command_stats", default=None)


@contextmanager
def counting() -> Iterator[CommandStats]:
    """Count the commands sent inside the block (and in tasks started from it)."""
    stats = CommandStats()
    token = current_stats.set(stats)
    try:
        yield stats
    finally:
        current_stats.reset(token)


def record(command: str, collection: str | None, key: object = None) -> None:
    """Add one command to the current request's stats, if any, and tell the observers."""
    if command in _DRIVER_COMMANDS:
        return
    stats = current_stats.get()
    if stats is not None:
        stats.record(command, collection)
    for observer in observers:
        observer.started(command, collection, key)


class CommandCounter(monitoring.CommandListener):
    """PyMongo listener that feeds :func:`record`."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        if event.command_name == "getMore":
            target = event.command.get("collection")
        record(event.command_name, target if isinstance(target, str) else None,
               (event.connection_id, event.request_id))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        for observer in observers:
            observer.finished((event.connection_id, event.request_id), None)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        for observer in observers:
            failure = event.failure.get("codeName") if isinstance(event.failure, dict) else None
            observer.finished((event.connection_id, event.request_id), str(failure or "error"))
