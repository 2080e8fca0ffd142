"""The Guard extension: every document-level limit, checked before any database command.

Order: tokens (before parsing); depth and aliases (before validation); in production mode,
introspection and ``_service`` for keys that may not use them; validation (cached; field
suggestions removed for partner keys in production mode); string lengths; ``first`` (literal or
variable) outside 1..100 (``BAD_USER_INPUT``, as the resolvers would say); the static cost
(``max_cost``); the caller's leaky bucket (``THROTTLED``). Every response then carries
``extensions.cost`` in Shopify's shape.

This extension also validates the document (it replaces strawberry's ``ValidationCache`` so
that its checks can run first); it must come before ``ParserCache`` in the extension list, so
that tokens are counted before the document is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, GraphQLSchema, get_operation_ast
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types.graphql import OperationType

from gateway.context import Context
from gateway.cost import MAX_FIRST, CostWalker
from gateway.limits import (
    check_shape,
    check_strings,
    check_tokens,
    fragments_of,
    profile,
    too_complex,
)

_validate = lru_cache(maxsize=256)(validate_document)
_SUGGESTION = re.compile(r" Did you mean .*\?$")


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path,
                        error.original_error, error.extensions)


class Guard(SchemaExtension):
    """Limits, cost and throttling for one operation."""

    def __init__(self) -> None:
        self.requested = 0
        self.charged = 0
        self.executed = False
        self.walker: CostWalker | None = None
        self.operation: Any = None

    @property
    def context(self) -> Context | None:
        context = self.execution_context.context
        return context if isinstance(context, Context) else None

    @property
    def graphql_schema(self) -> GraphQLSchema:
        schema: GraphQLSchema = self.execution_context.schema._schema
        return schema

    def _hides_suggestions(self, context: Context) -> bool:
        principal = context.principal
        return context.settings.production and not (principal is not None and principal.is_admin)

    def on_parse(self) -> Iterator[None]:
        context, query = self.context, self.execution_context.query
        if context is not None and query:
            check_tokens(query, context.settings)
        yield

    def on_validate(self) -> Iterator[None]:
        context, ec = self.context, self.execution_context
        if context is not None and ec.graphql_document is not None:
            ec.pre_execution_errors = self._check(context)
        yield

    def _check(self, context: Context) -> list[GraphQLError]:
        ec, settings, principal = self.execution_context, context.settings, context.principal
        document = ec.graphql_document
        assert document is not None
        found = profile(ec.query, document)
        errors = check_shape(found, settings)
        if errors:
            return errors
        restricted = self._hides_suggestions(context)
        if restricted:
            field = found.introspection
            if field is not None:
                return [GraphQLError(f"Introspection ({field}) is disabled for this key in "
                                     "production mode.",
                                     extensions={"code": "GRAPHQL_VALIDATION_FAILED"})]
            if "_service" in found.root_fields and (
                principal is None or principal.role != "federation"
            ):
                return [GraphQLError("`_service` needs a key with the federation or admin role.",
                                     path=["_service"], extensions={"code": "FORBIDDEN"})]
        errors = list(_validate(self.graphql_schema, document, tuple(ec.validation_rules)))
        if errors:
            return [_without_suggestion(e) for e in errors] if restricted else errors
        return check_strings(found, ec.variables, settings) or self._cost(context)

    def _cost(self, context: Context) -> list[GraphQLError]:
        ec, settings = self.execution_context, context.settings
        document = ec.graphql_document
        assert document is not None
        operation = get_operation_ast(document, ec.operation_name)
        if operation is None:
            return []  # execution reports the missing or ambiguous operation
        coerced = get_variable_values(
            self.graphql_schema, operation.variable_definitions or (), ec.variables or {}
        )
        if isinstance(coerced, list):
            return []  # execution reports these as BAD_USER_INPUT before any resolver runs
        self.walker = CostWalker(self.graphql_schema, fragments_of(document), coerced)
        self.operation = operation
        analysis = self.walker.requested(operation)
        if analysis.bad_first:
            path, name, value = analysis.bad_first[0]
            return [GraphQLError(f"`{name}` must be between 1 and {MAX_FIRST}, got {value}.",
                                 path=path, extensions={"code": "BAD_USER_INPUT",
                                                        "field": name})]
        self.requested = cost = analysis.cost
        if cost > settings.max_cost:
            return [too_complex(f"The query costs {cost} points; at most {settings.max_cost} "
                                "are allowed (limit max_cost).")]
        throttle, principal = context.throttle, context.principal
        if throttle is None or principal is None:
            return []
        if cost > throttle.size:
            return [too_complex(f"The query costs {cost} points, more than a bucket holds "
                                f"({throttle.size}, limit throttle_bucket_size).")]
        available = throttle.available(principal.key_id)
        wait = throttle.charge(principal.key_id, cost)
        if wait is not None:
            return [GraphQLError(
                f"Throttled: the query costs {cost} points and {int(available)} are available; "
                f"retry in {wait} seconds.",
                extensions={"code": "THROTTLED", "retryAfterSeconds": wait},
            )]
        self.charged = cost
        return []

    def _is_subscription(self) -> bool:
        try:
            return self.execution_context.operation_type is OperationType.SUBSCRIPTION
        except RuntimeError:  # no operation could be determined
            return False

    def on_execute(self) -> Iterator[None]:
        self.executed = True
        yield
        context, result = self.context, self.execution_context.result
        if context is not None and result is not None and result.errors and (
            self._hides_suggestions(context)
        ):
            result.errors = [_without_suggestion(e) for e in result.errors]

    def get_results(self) -> dict[str, Any]:
        context = self.context
        if context is None or self._is_subscription():
            # A subscription is charged once, when it starts; its events carry no cost.
            return {}
        actual = 0
        result = self.execution_context.result
        if self.executed and self.walker is not None and result is not None:
            actual = self.walker.actual(self.operation, result.data)
        key = context.principal.key_id if context.principal is not None else None
        throttle = context.throttle
        if throttle is not None and key is not None and self.charged:
            throttle.refund(key, self.charged - actual)
        status = (throttle.status(key) if throttle is not None else
                  {"maximumAvailable": float(context.settings.throttle_bucket_size),
                   "currentlyAvailable": context.settings.throttle_bucket_size,
                   "restoreRate": context.settings.throttle_restore_rate})
        return {"cost": {"requestedQueryCost": self.requested, "actualQueryCost": actual,
                         "throttleStatus": status}}
