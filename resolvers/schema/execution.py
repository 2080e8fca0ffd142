"""A faster path for plain scalar fields.

Most fields of a large result are plain attributes (an id, a name, an enum). graphql-core
builds a Path and a ResolveInfo, reads arguments and walks ``complete_value`` for each of them;
for a field that strawberry marks as *basic* (no resolver, no extensions, no arguments) whose
type is a scalar or an enum, this context reads the attribute and serializes it directly.
Anything else (a null, an awaitable, a middleware, arguments) takes graphql-core's ordinary
path, so errors and null handling are unchanged. ``execute_fields`` follows graphql-core
3.3's own (pinned by uv.lock); tests/test_execution.py compares both paths.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from graphql import GraphQLField, GraphQLObjectType, Undefined, get_nullable_type, is_leaf_type
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

Plan = tuple[Callable[..., Any], Any] | None
Plans = list[tuple[str, Any, Plan]]


def _leaf_plan(field: GraphQLField | None, node: Any) -> Plan:
    if field is None or field.args or field.resolve is None or node.arguments:
        return None
    leaf = get_nullable_type(field.type)
    if not getattr(field.resolve, "_is_default", False) or not is_leaf_type(leaf):
        return None
    return (field.resolve, leaf)


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context with a direct path for basic leaf fields."""

    @cached_property
    def _without_middleware(self) -> bool:
        manager = self.middleware_manager
        return manager is None or not manager.middlewares

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
                (name, details, _leaf_plan(
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
                    value = plan[0](source_value, None)
                    if value is not None and not is_awaitable(value):
                        serialized = plan[1].serialize(value)
                        if serialized is not None and serialized is not Undefined:
                            results[response_name] = serialized
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
