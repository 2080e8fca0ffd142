"""A faster path for plain scalar fields.

Most fields of a large result are plain attributes (an id, a name, an enum). graphql-core
builds a ResolveInfo, reads arguments and walks ``complete_value`` for each of them; for a
field that strawberry marks as *basic* (no resolver, no extensions, no arguments) whose type
is a scalar or an enum, this context reads the attribute and serializes it directly. Anything
else (a null, an awaitable, a middleware, arguments) takes graphql-core's ordinary path, so
errors and null handling are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from graphql import GraphQLField, GraphQLObjectType, Undefined, get_nullable_type, is_leaf_type
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

Plan = tuple[Callable[..., Any], Any] | None
_PLANS: dict[tuple[int, str, str], Plan] = {}


def _leaf_plan(field: GraphQLField | None) -> Plan:
    if field is None or field.args or field.resolve is None:
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

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        key = (id(self.schema), parent_type.name, node.name.value)
        if key not in _PLANS:
            _PLANS[key] = _leaf_plan(self.schema.get_field(parent_type, node.name.value))
        plan = _PLANS[key]
        if plan is not None and not node.arguments and self._without_middleware:
            value = plan[0](source, None)
            if value is not None and not self.is_awaitable(value):
                serialized = plan[1].serialize(value)
                if serialized is not None and serialized is not Undefined:
                    return serialized
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
