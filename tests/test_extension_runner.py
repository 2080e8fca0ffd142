"""The planned extension runner (resolvers/schema/runner.py) behaves as strawberry's own:
each scenario runs through both, and the order of the hooks' steps and the outcome (what is
raised) must be the same, except where a hook fails on entering: ours then closes the hooks
entered before it, with its exception."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner

from resolvers.schema.runner import create_runner


class Boom(Exception):
    pass


class Other(Exception):
    pass


def extensions(log: list[str], faults: dict[str, str]) -> list[SchemaExtension]:
    """Four extensions, one of each kind of hook; ``faults`` says what a hook does wrong:
    ``enter`` (raises before yielding), ``exit`` (raises after), ``swallow`` (suppresses
    what reaches it), ``replace`` (raises another exception instead), ``twice`` (yields
    again)."""

    def before(name: str) -> None:
        log.append(f"{name} in")
        if faults.get(name) == "enter":
            raise Boom(name)

    def after(name: str, error: BaseException | None) -> None:
        log.append(f"{name} out {type(error).__name__ if error else '-'}")
        fault = faults.get(name)
        if fault == "exit":
            raise Other(name)
        if fault == "replace" and error is not None:
            raise Other(name) from error
        if error is not None and fault != "swallow":
            raise error

    class SyncGenerator(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            before("sync")
            try:
                yield
            except Exception as error:
                after("sync", error)
            else:
                after("sync", None)
            if faults.get("sync") == "twice":
                yield  # a hook that does not stop after its one yield

        def on_execute(self) -> Iterator[None]:
            log.append("sync execute")
            yield

    class AsyncGenerator(SchemaExtension):
        async def on_operation(self) -> AsyncIterator[None]:
            await asyncio.sleep(0)
            before("async")
            try:
                yield
            except Exception as error:
                after("async", error)
            else:
                after("async", None)

    class Coroutine(SchemaExtension):
        async def on_operation(self) -> None:  # type: ignore[override]
            before("coroutine")

    class Function(SchemaExtension):
        def on_operation(self) -> None:  # type: ignore[override]
            before("function")

        def on_parse(self) -> None:  # type: ignore[override]
            log.append("function parse")

    return [SyncGenerator(), AsyncGenerator(), Coroutine(), Function()]


ORDER = ["sync", "async", "coroutine", "function"]
GENERATORS = {"sync", "async"}
SCENARIOS: list[tuple[dict[str, str], bool]] = [
    ({}, False),
    ({}, True),  # the operation itself raises
    ({"async": "enter"}, False),
    ({"function": "enter"}, False),
    ({"coroutine": "enter"}, False),
    ({"async": "swallow"}, True),
    ({"sync": "swallow"}, True),
    ({"async": "replace"}, True),
    ({"sync": "replace", "async": "swallow"}, True),
    ({"async": "exit"}, False),
    ({"async": "exit", "sync": "swallow"}, False),
    ({"sync": "exit"}, True),
    ({"sync": "twice"}, False),
]


async def run(runner_of: Any, faults: dict[str, str], body_raises: bool) -> list[str]:
    log: list[str] = []
    found = extensions(log, faults)
    runner = runner_of(None, found)
    try:
        async with runner.operation():
            async with runner.parsing():
                pass
            async with runner.executing():
                pass
            log.append("body")
            if body_raises:
                raise Boom("body")
        log.append("completed")
    except (Boom, Other) as error:
        log.append(f"raised {type(error).__name__} {error}")
    except RuntimeError as error:  # the words differ: contextlib's and ours
        log.append(f"raised RuntimeError: {'stop' in str(error)}")
    return log


@pytest.mark.parametrize(("faults", "body_raises"), SCENARIOS)
async def test_the_planned_runner_steps_as_strawberrys_does(
    faults: dict[str, str], body_raises: bool
) -> None:
    expected = await run(SchemaExtensionsRunner, faults, body_raises)
    failing = [name for name, fault in faults.items() if fault == "enter"]
    if failing:  # strawberry leaves the generators entered before it suspended; we close them
        entered = ORDER[:ORDER.index(failing[0])]
        closed = [f"{name} out Boom" for name in reversed(entered) if name in GENERATORS]
        expected = expected[:-1] + closed + expected[-1:]
    got = await run(create_runner, faults, body_raises)
    assert got == expected
    assert "sync in" in got  # the scenario ran


def test_the_sync_stages_refuse_an_async_hook_as_strawberrys_do() -> None:
    for runner_of in (SchemaExtensionsRunner, create_runner):
        log: list[str] = []
        runner = runner_of(None, extensions(log, {}))  # type: ignore[operator]
        with (pytest.raises(RuntimeError, match="failed to complete synchronously"),
              runner.operation()):
            pass
        with runner.parsing():
            pass
        assert log[-1] == "function parse"


async def test_the_results_are_strawberrys_in_the_same_order() -> None:
    class Sync(SchemaExtension):
        def get_results(self) -> dict[str, Any]:
            return {"a": 1, "shared": "sync"}

    class Async(SchemaExtension):
        async def get_results(self) -> dict[str, Any]:  # type: ignore[override]
            return {"b": 2, "shared": "async"}

    class Nothing(SchemaExtension):
        pass

    context = SimpleNamespace(extensions_results={"c": 3})
    found = [await runner_of(context, [Async(), Nothing(), Sync()]).get_extensions_results(
        context) for runner_of in (SchemaExtensionsRunner, create_runner)]
    assert found[0] == found[1] == {"a": 1, "b": 2, "c": 3, "shared": "sync"}
    assert list(found[0]) == list(found[1])
