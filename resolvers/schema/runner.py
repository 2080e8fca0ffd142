"""Strawberry's extension hooks, planned once per schema rather than once per request.

Strawberry's runner (``strawberry.extensions.runner``) looks up every extension's hook for each
stage of each request (operation, parse, validate, execute), inspects whether it is a
generator, wraps it in a ``contextlib`` context manager (``functools.update_wrapper`` and all)
and enters it through an ``ExitStack``: about 20 hook lookups and 8 wrappers per request for
our seven extensions, more of the HTTP path's time than running the hooks themselves
(docs/performance.md). Here the hooks of each stage (and ``get_results``) are found once per
list of extension classes, and each request drives its hooks' generators directly, with the
same semantics: hooks enter in the extensions' order and leave in reverse; a hook sees the
exception raised inside it (or by a hook nested in it) and may replace it, or hide it from the
hooks around it (strawberry still sees it). One difference, on purpose: a hook that raises on
entering closes the hooks entered before it with its exception, where strawberry's runner
leaves them suspended until the garbage collector closes them (their ``finally`` blocks then
run at an unknown time, out of the request's context).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner

# How a hook is run: a generator, an async generator, a function or a coroutine function.
GENERATOR, ASYNC_GENERATOR, FUNCTION, COROUTINE = range(4)
Plan = tuple[tuple[int, Callable[..., Any], int], ...]  # (extension index, hook, kind)


def _kind(hook: Callable[..., Any]) -> int:
    if inspect.isgeneratorfunction(hook):
        return GENERATOR
    if inspect.isasyncgenfunction(hook):
        return ASYNC_GENERATOR
    return COROUTINE if inspect.iscoroutinefunction(hook) else FUNCTION


def plan_hooks(classes: tuple[type, ...], name: str) -> Plan:
    """The hooks named ``name`` the extension ``classes`` define (not the base class's
    no-op), in their order."""
    default = getattr(SchemaExtension, name)
    found = []
    for index, cls in enumerate(classes):
        hook = getattr(cls, name)
        if hook is not default:
            if not callable(hook):
                raise ValueError(f"Hook {name} on {cls.__name__} must be callable, received "
                                 f"{hook!r}")
            found.append((index, hook, _kind(hook)))
    return tuple(found)


def _chained(error: BaseException, raised: BaseException | None) -> BaseException:
    """``error``, raised by a hook while ``raised`` went through it, with ``raised`` as its
    context (as ``contextlib.ExitStack`` chains them)."""
    if error is not raised and raised is not None and error.__context__ is None:
        error.__context__ = raised
    return error


class Stage:
    """One stage's hooks for one request: an async and a sync context manager."""

    __slots__ = ("extensions", "name", "plan", "running")

    def __init__(self, plan: Plan, extensions: list[SchemaExtension], name: str) -> None:
        self.plan, self.extensions, self.name = plan, extensions, name
        # the generators entered, in order, and whether each is asynchronous
        self.running: list[tuple[Any, bool]] = []

    async def __aenter__(self) -> None:
        for index, hook, kind in self.plan:
            extension = self.extensions[index]
            try:
                if kind == GENERATOR:
                    generator = hook(extension)
                    next(generator)
                    self.running.append((generator, False))
                elif kind == ASYNC_GENERATOR:
                    generator = hook(extension)
                    await generator.__anext__()
                    self.running.append((generator, True))
                elif kind == COROUTINE:
                    await hook(extension)
                else:
                    hook(extension)
            except (StopIteration, StopAsyncIteration) as exc:
                failed = RuntimeError("generator didn't yield")
                failed.__cause__ = exc
                await self.__aexit__(type(failed), failed, None)
                raise failed from exc
            except BaseException as exc:
                await self.__aexit__(type(exc), exc, exc.__traceback__)
                raise

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> bool:
        raised = exc
        while self.running:
            generator, is_async = self.running.pop()
            raised = (await self._leave_async(generator, raised) if is_async
                      else self._leave(generator, raised))
        return self._finish(exc, raised)

    def __enter__(self) -> None:
        for index, hook, kind in self.plan:
            extension = self.extensions[index]
            if kind in (ASYNC_GENERATOR, COROUTINE):
                self.__exit__(None, None, None)
                raise RuntimeError(f"SchemaExtension hook {extension}.{self.name} failed to "
                                   "complete synchronously.")
            try:
                if kind == GENERATOR:
                    generator = hook(extension)
                    next(generator)
                    self.running.append((generator, False))
                else:
                    hook(extension)
            except BaseException as exc:
                self.__exit__(type(exc), exc, exc.__traceback__)
                raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        raised = exc
        while self.running:
            generator, _ = self.running.pop()
            raised = self._leave(generator, raised)
        return self._finish(exc, raised)

    def _leave(self, generator: Any, raised: BaseException | None) -> BaseException | None:
        """Resume a generator hook after its ``yield``, with ``raised`` thrown in (if any):
        what the hooks around it see (None: no exception; it swallowed one, or none came)."""
        try:
            if raised is None:
                next(generator)
            else:
                generator.throw(raised)
        except StopIteration:
            return None
        except BaseException as error:
            return _chained(error, raised)
        return RuntimeError(f"{self.name} hook of {generator!r} didn't stop")

    async def _leave_async(self, generator: Any,
                           raised: BaseException | None) -> BaseException | None:
        """:meth:`_leave` for an async generator hook."""
        try:
            if raised is None:
                await generator.__anext__()
            else:
                await generator.athrow(raised)
        except StopAsyncIteration:
            return None
        except BaseException as error:
            return _chained(error, raised)
        return RuntimeError(f"{self.name} hook of {generator!r} didn't stop")

    @staticmethod
    def _finish(exc: BaseException | None, raised: BaseException | None) -> bool:
        """Raises what a hook raised instead of ``exc``. Never suppresses ``exc``: as under
        strawberry's runner, a hook that swallows an exception hides it from the hooks around
        it, not from strawberry."""
        if raised is not None and raised is not exc:
            raise raised
        return False


class Runner(SchemaExtensionsRunner):
    """:class:`SchemaExtensionsRunner` whose stages use the schema's plans."""

    def __init__(self, execution_context: Any, extensions: list[SchemaExtension],
                 plans: dict[str, Plan]) -> None:
        super().__init__(execution_context, extensions)
        self.plans = plans

    def operation(self) -> Any:
        return Stage(self.plans["on_operation"], self.extensions, "on_operation")

    def validation(self) -> Any:
        return Stage(self.plans["on_validate"], self.extensions, "on_validate")

    def parsing(self) -> Any:
        return Stage(self.plans["on_parse"], self.extensions, "on_parse")

    def executing(self) -> Any:
        return Stage(self.plans["on_execute"], self.extensions, "on_execute")

    async def get_extensions_results(self, ctx: Any) -> dict[str, Any]:
        """What the extensions that define ``get_results`` return, in their order, then the
        execution context's ``extensions_results``."""
        data: dict[str, Any] = {}
        for index, _, _ in self.plans["get_results"]:
            found = self.extensions[index].get_results()
            data.update(await found if inspect.isawaitable(found) else found)
        data.update(ctx.extensions_results)
        return data


HOOKS = ("on_operation", "on_validate", "on_parse", "on_execute", "get_results")
_PLANS: dict[tuple[type, ...], dict[str, Plan]] = {}  # by the extensions' classes


def create_runner(execution_context: Any, extensions: list[SchemaExtension]) -> Runner:
    """The runner of one request, with the hooks of its extensions' classes planned once
    (the schema's extensions, plus strawberry's directives extension when the schema has
    operation directives)."""
    classes = tuple(type(extension) for extension in extensions)
    plans = _PLANS.get(classes)
    if plans is None:
        plans = _PLANS[classes] = {name: plan_hooks(classes, name) for name in HOOKS}
    return Runner(execution_context, extensions, plans)
