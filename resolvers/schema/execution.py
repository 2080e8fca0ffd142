"""A faster path for plain fields.

Most fields of a large result are plain attributes (an id, a name, an enum, a Money, a page's
edges). graphql-core builds a Path and a ResolveInfo, runs strawberry's resolver wrapper, reads
arguments and walks ``complete_value`` for each of them. This context plans each field of a
selection once, and for a field that strawberry marks as *basic* (no resolver, no extensions,
no arguments):

- a scalar or an enum: reads the attribute and serializes it directly;
- an object type: reads the attribute and executes the object's selection directly (with the
  type's ``is_type_of`` check, as graphql-core does);
- ``__typename``: the parent type's name;
- an interface or a union: reads the attribute and, for a plain strawberry object of a type
  that implements it (not generic, not ``strawberry.cast``), executes that type's selection as
  for an object type: what strawberry's ``resolve_type`` would have chosen.

And for a relation (``CONTEXT_ONLY`` in resolvers/relations.py: a sync resolver
``(self, info)`` that reads only ``info.context``, no arguments, no field extensions) whose
type is an object type: calls the resolver with the request's context alone and, when the
value is loaded (not an awaitable), completes it as an object field above. While the value
is not loaded, the resolver's awaitable is dropped unstarted and the field takes the ordinary
path.

Anything else (a null, an awaitable, a list, an interface, a middleware, arguments, a field
with a resolver) takes graphql-core's ordinary path, and an error in an object's selection is
handled as graphql-core handles it (null propagation included). ``execute_fields`` follows
graphql-core 3.3's own (pinned by uv.lock); tests/test_execution.py compares both paths.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cached_property
from typing import Any, NamedTuple

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    Undefined,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.cast import get_strawberry_type_cast

from resolvers.relations import CONTEXT_ONLY

LEAF, OBJECT, TYPENAME, RELATION, ABSTRACT = 0, 1, 2, 3, 4


class Plan(NamedTuple):
    """How a field of a selection is resolved: ``kind`` (LEAF, OBJECT, TYPENAME, RELATION or
    ABSTRACT), the attribute reader (a relation's resolver), the field's named type (a leaf,
    object, interface or union type) and its full type."""

    kind: int
    resolve: Callable[..., Any] | None = None
    named: Any = None
    type: Any = None


Plans = list[tuple[str, Any, Plan | None]]
_TYPENAME = Plan(TYPENAME)


def _plan(field: GraphQLField | None, node: Any) -> Plan | None:
    if node.name.value == "__typename" and not node.directives:
        return _TYPENAME
    if field is None or field.args or field.resolve is None or node.arguments:
        return None
    named = get_nullable_type(field.type)
    if not getattr(field.resolve, "_is_default", False):
        resolver = _context_only(field)
        if resolver is None or not isinstance(named, GraphQLObjectType):
            return None
        return Plan(RELATION, resolver, named, field.type)
    if is_leaf_type(named):
        return Plan(LEAF, field.resolve, named, field.type)
    if isinstance(named, GraphQLObjectType):
        return Plan(OBJECT, field.resolve, named, field.type)
    if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
        return Plan(ABSTRACT, field.resolve, named, field.type)
    return None


def _context_only(field: GraphQLField) -> Callable[..., Any] | None:
    """The resolver function of a ``CONTEXT_ONLY`` field, when it can be called directly."""
    definition = field.extensions.get("strawberry-definition")
    if not getattr(definition, "metadata", {}).get(CONTEXT_ONLY):
        return None
    resolver = definition.base_resolver  # type: ignore[union-attr]
    if (resolver is None or resolver.is_async or resolver.arguments
            or definition.extensions or definition.directives):  # type: ignore[union-attr]
        return None
    function: Callable[..., Any] = resolver.wrapped_func
    if len(inspect.signature(function).parameters) != 2:  # (self, info)
        return None
    return function


class ContextInfo:
    """What a ``CONTEXT_ONLY`` resolver reads of its ``info``: the request's context."""

    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context with a direct path for basic leaf fields."""

    @cached_property
    def _without_middleware(self) -> bool:
        manager = self.middleware_manager
        return manager is None or not manager.middlewares

    @cached_property
    def _context_info(self) -> ContextInfo:
        return ContextInfo(self.context_value)

    @cached_property
    def _plans(self) -> dict[tuple[str, int], tuple[Any, Plans]]:
        return {}

    def build_per_event_executor(self, payload: Any) -> Any:
        """The executor of one subscription event, with memo caches of its own.

        graphql-core makes it a shallow copy of the subscription's executor, so without this
        every event would add its freshly collected field lists to caches shared for the
        life of the subscription (graphql-core's sub-field memo and our plans, both keyed by
        the lists' identity): memory that grows with every event, never hit again.
        """
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor.__dict__.pop("_plans", None)
        return executor

    def _plans_for(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plans:
        """One plan per field of a selection, computed once per (type, selection)."""
        key = (parent_type.name, id(grouped_field_set))
        cached = self._plans.get(key)
        if cached is None or cached[0] is not grouped_field_set:
            plans = [
                (name, details, _plan(
                    self.schema.get_field(parent_type, details[0].node.name.value),
                    details[0].node,
                ) if self._without_middleware else None)
                for name, details in grouped_field_set.items()
            ]
            cached = self._plans[key] = (grouped_field_set, plans)  # keeps the id alive
        return cached[1]

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, plan in self._plans_for(
                parent_type, grouped_field_set
            ):
                if plan is not None:
                    kind = plan.kind
                    if kind == TYPENAME:
                        results[response_name] = parent_type.name
                        continue
                    if kind == RELATION:
                        try:
                            value = plan.resolve(  # type: ignore[misc]
                                source_value, self._context_info)
                        except Exception as raw_error:
                            self.handle_field_error(
                                raw_error, plan.type, field_details_list,
                                Path(path, response_name, parent_type.name))
                            results[response_name] = None
                            continue
                        if is_awaitable(value):  # not loaded yet: the ordinary path
                            if inspect.iscoroutine(value):
                                value.close()
                            value = Undefined
                    else:
                        value = plan.resolve(source_value, None)  # type: ignore[misc]
                    if value is None and kind != LEAF and not is_non_null_type(plan.type):
                        results[response_name] = None
                        continue
                    named = plan.named
                    if kind == ABSTRACT and value is not None:
                        named = self._runtime_type(named, value)
                        if named is None:  # strawberry's resolve_type decides
                            value = Undefined
                    if value is not None and value is not Undefined and not is_awaitable(value):
                        if kind == LEAF:
                            serialized = plan.named.serialize(value)
                            if serialized is not None and serialized is not Undefined:
                                results[response_name] = serialized
                                continue
                        else:
                            result = self._object(named, plan.type, field_details_list, value,
                                                  Path(path, response_name, parent_type.name),
                                                  position_context)
                            results[response_name] = result
                            if is_awaitable(result):
                                awaitable_fields.append(response_name)
                            continue
                result = self.execute_field(
                    parent_type, source_value, field_details_list,
                    Path(path, response_name, parent_type.name), position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _runtime_type(self, abstract: Any, value: Any) -> GraphQLObjectType | None:
        """The object type of ``value`` under ``abstract``, when it is a plain strawberry
        object of a type that implements it; else None."""
        definition = getattr(type(value), "__strawberry_definition__", None)
        if (definition is None or definition.is_graphql_generic
                or get_strawberry_type_cast(value) is not None):
            return None
        runtime = self.schema.get_type(definition.name)
        if not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(
                abstract, runtime):
            return None
        return runtime

    def _object(self, named: GraphQLObjectType, type_: Any, field_details_list: Any,
                value: Any, path: Path, position_context: Any) -> Any:
        """An object field's value, completed as ``execute_field`` completes it: an error
        nulls the field, or propagates when the field is non-null. (``complete_object_value``
        reads no ResolveInfo: strawberry's ``is_type_of`` ignores it.)"""
        try:
            completed = self.complete_object_value(
                named, field_details_list, None, path, value,  # type: ignore[arg-type]
                position_context)
        except Exception as raw_error:
            self.handle_field_error(raw_error, type_, field_details_list, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, type_, field_details_list, path)
                return None

        return await_completed()
