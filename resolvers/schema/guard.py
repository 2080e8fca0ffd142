"""The Guard extension: every document-level limit, checked before any database command.

Order, on parse: the caller's bucket must hold the request's admission charge (one point per
``admission_chars_per_point`` characters of the document, at least one: else ``THROTTLED`` at
once, with no work done); the document's length (``max_document_length``, comments included),
lone surrogates; then the document is taken from the cache
(:mod:`gateway.admission.document_cache`, keyed by hash, which keeps its token count), or its
tokens are counted (``max_tokens``) and it is parsed. On validate: depth, aliases and
directives; in
production mode, introspection and ``_service`` for keys that may not use them; validation
(cached with the document); string lengths; the variables' coercion; ``first`` (literal or
variable) outside 1..100 (``BAD_USER_INPUT``, as the resolvers would say); the static cost
(``max_cost``, with :data:`gateway.admission.cost.FIELD_COSTS`); the caller's leaky bucket
(``THROTTLED``).

Every request pays: one refused for its document or variables its admission charge, one that
runs ``max(cost, admission)``, refunded down to ``max(actual cost, admission)`` once it ran; one
refused because its key cannot pay (``THROTTLED``) nothing. Every response then
carries ``extensions.cost`` in Shopify's shape.

In production mode, for keys other than admin ones, the messages of validation and variable
errors are replaced by messages that name no field, type or suggestion (the errors keep their
code and locations); execution errors lose any "Did you mean" suggestion.

This extension parses and validates the document itself (it replaces strawberry's
``ParserCache`` and ``ValidationCache``).
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from typing import Any

from graphql import GraphQLError, GraphQLSchema, get_operation_ast
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types.graphql import OperationType

from gateway.admission.cost import MAX_FIRST, CostWalker
from gateway.admission.document_cache import Entry, documents_of
from gateway.admission.limits import (
    check_length,
    check_shape,
    check_strings,
    check_tokens,
    check_unicode,
    profile,
    too_complex,
    too_many_tokens,
)
from gateway.admission.walker import fragments_of
from gateway.context import Context

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
_VARIABLE = re.compile(r"^Variable '\$(\w+)'")
VALIDATION_MESSAGE = ("The document does not validate against the schema; the details are "
                      "shown to admin keys only.")


def _with_message(error: GraphQLError, message: str) -> GraphQLError:
    if message == error.message:
        return error
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path,
                        error.original_error, error.extensions)


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    return _with_message(error, _SUGGESTION.sub("", error.message))


def _variable_message(error: GraphQLError) -> str:
    found = _VARIABLE.match(error.message)
    name = f" '${found.group(1)}'" if found else ""
    return f"Variable{name} has an invalid value; the details are shown to admin keys only."


class Guard(SchemaExtension):
    """Limits, cost and throttling for one operation."""

    def __init__(self) -> None:
        self.requested = 0
        self.actual = 0
        self.admission = 0
        self.charged = 0
        self.executed = False
        self.walker: CostWalker | None = None
        self.operation: Any = None
        self.entry: Entry | None = None
        self.paid = False

    @property
    def context(self) -> Context | None:
        context = self.execution_context.context
        return context if isinstance(context, Context) else None

    @property
    def graphql_schema(self) -> GraphQLSchema:
        schema: GraphQLSchema = self.execution_context.schema._schema
        return schema

    def _restricted(self, context: Context) -> bool:
        principal = context.principal
        return context.settings.production and not (principal is not None and principal.is_admin)

    def _key(self, context: Context) -> str | None:
        principal = context.principal
        return principal.key_id if principal is not None and context.throttle else None

    async def _refuse(self, context: Context) -> None:
        """A refused request still pays its admission charge."""
        key = self._key(context)
        if key is not None and context.throttle is not None and self.admission and not self.paid:
            self.paid = True
            await context.throttle.owe(key, self.admission)

    async def on_parse(self) -> AsyncIterator[None]:
        context, ec = self.context, self.execution_context
        query = ec.query
        if context is not None and query:
            settings = context.settings
            counted = min(len(query), settings.max_document_length)  # longer: refused below
            self.admission = max(1, math.ceil(counted / settings.admission_chars_per_point))
            key, throttle = self._key(context), context.throttle
            if key is not None and throttle is not None:
                available = throttle.available(key)
                if available < self.admission:
                    wait = math.ceil((self.admission - available) / throttle.rate * 100) / 100
                    self.admission = 0  # refused before any work: nothing to pay
                    raise GraphQLError(
                        f"Throttled: {max(0, int(available))} points are available; retry in "
                        f"{max(wait, 0.01)} seconds.",
                        extensions={"code": "THROTTLED", "retryAfterSeconds": max(wait, 0.01)})
            try:
                check_length(query, settings)
                check_unicode(query)
                self.entry = entry = documents_of(self.graphql_schema).get(
                    query, lambda text: check_tokens(text, settings), **ec.parse_options)
                if entry.tokens > settings.max_tokens:  # cached under a higher limit
                    raise too_many_tokens(settings)
            except GraphQLError:
                await self._refuse(context)
                raise
            ec.graphql_document = self.entry.document
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        context, ec = self.context, self.execution_context
        if context is not None and ec.graphql_document is not None:
            # A list, even empty, tells strawberry that validation has run.
            ec.pre_execution_errors = await self._check(context)
        yield

    async def _check(self, context: Context) -> list[GraphQLError]:
        errors = self._document_errors(context)
        if not errors:
            errors = await self._cost(context)
        return errors

    def _document_errors(self, context: Context) -> list[GraphQLError]:
        ec, settings, principal = self.execution_context, context.settings, context.principal
        document = ec.graphql_document
        assert document is not None
        entry = self.entry
        if entry is None or entry.document is not document:
            entry = Entry(document, profile(document))
        found = entry.profile
        errors = check_shape(found, settings)
        if errors:
            return errors
        restricted = self._restricted(context)
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
        errors = documents_of(self.graphql_schema).validate(
            ec.query or "", entry,
            lambda: validate_document(self.graphql_schema, document, tuple(ec.validation_rules)))
        if errors:
            return [_with_message(e, VALIDATION_MESSAGE) for e in errors] if restricted else errors
        return check_strings(found, ec.variables, settings)

    async def _cost(self, context: Context) -> list[GraphQLError]:
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
            if self._restricted(context):
                return [_with_message(e, _variable_message(e)) for e in coerced]
            return list(coerced)
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
        throttle, key = context.throttle, self._key(context)
        if throttle is None or key is None:
            return []
        if cost > throttle.size:
            return [too_complex(f"The query costs {cost} points, more than a bucket holds "
                                f"({throttle.size}, limit throttle_bucket_size).")]
        due = max(cost, self.admission)
        available = throttle.available(key)
        wait = await throttle.charge(key, due)
        if wait is not None:
            self.paid = True  # refused because the key cannot pay: it pays nothing
            return [GraphQLError(
                f"Throttled: the query costs {due} points and {max(0, int(available))} are "
                f"available; retry in {wait} seconds.",
                extensions={"code": "THROTTLED", "retryAfterSeconds": wait},
            )]
        self.charged = due
        return []

    def _is_subscription(self) -> bool:
        try:
            return self.execution_context.operation_type is OperationType.SUBSCRIPTION
        except RuntimeError:  # no operation could be determined
            return False

    async def on_execute(self) -> AsyncIterator[None]:
        self.executed = True
        yield
        context, result = self.context, self.execution_context.result
        if context is None or result is None:
            return
        if result.errors and self._restricted(context):
            result.errors = [_without_suggestion(e) for e in result.errors]
        if self._is_subscription() or self.walker is None:
            return  # a subscription is charged once, when it starts
        self.actual = self.walker.actual(self.operation, result.data)
        key, throttle = self._key(context), context.throttle
        if throttle is not None and key is not None and self.charged:
            await throttle.refund(key, self.charged - max(self.actual, self.admission))

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.context
        if context is not None and self.charged == 0 and (
            self.execution_context.pre_execution_errors
        ):
            await self._refuse(context)

    def get_results(self) -> dict[str, Any]:
        context = self.context
        if context is None or self._is_subscription():
            return {}
        key = self._key(context)
        throttle = context.throttle
        status = (throttle.status(key) if throttle is not None else
                  {"maximumAvailable": float(context.settings.throttle_bucket_size),
                   "currentlyAvailable": context.settings.throttle_bucket_size,
                   "restoreRate": context.settings.throttle_restore_rate})
        return {"cost": {"requestedQueryCost": self.requested, "actualQueryCost": self.actual,
                         "throttleStatus": status}}
