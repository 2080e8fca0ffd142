"""The GraphQL operation span, after OpenTelemetry's semantic conventions for GraphQL servers.

One span per operation, named ``query``, ``mutation`` or ``subscription`` (``GraphQL
Operation`` when the document gives no operation: it did not parse, or names none that
matches), with the attributes

- ``graphql.operation.type``: ``query``, ``mutation`` or ``subscription``;
- ``graphql.operation.name``: the operation's name, when it has one;
- ``graphql.document``: the document with every literal (string, number, boolean) replaced by
  ``?`` and comments dropped, so that no argument value reaches the tracing backend; off with
  ``OMNIGW_TRACE_DOCUMENT=false``.

The span is current while the operation runs, so DataLoader batches and MongoDB commands
nest beneath it, inside the HTTP request's span. The client-chosen name stays out of the span
name, as the conventions advise (it is unbounded).

Strawberry's own ``OpenTelemetryExtension`` is not used: it puts the raw query text, literals
included, on the span, does not make its span current, and wraps every field in an async
resolver hook, which would undo the execution fast path (:mod:`resolvers.schema.execution`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    EnumValueNode,
    GraphQLError,
    GraphQLSyntaxError,
    Visitor,
    get_operation_ast,
    print_ast,
    visit,
)
from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

from gateway.telemetry import tracing

_HIDDEN = EnumValueNode(value="?")


class _StripLiterals(Visitor):
    """Replaces every literal value by ``?`` (printed as an enum value would be)."""

    def _hide(self, *_: Any) -> EnumValueNode:
        return _HIDDEN

    enter_string_value = enter_int_value = enter_float_value = enter_boolean_value = _hide


def stripped(document: DocumentNode) -> str:
    """``document`` printed with its literals as ``?`` (variables and enum values stay)."""
    printed: str = print_ast(visit(document, _StripLiterals()))
    return printed


class OperationSpan(SchemaExtension):
    """The operation's span (see the module docstring)."""

    def on_operation(self) -> Iterator[None]:
        span = tracing.tracer().start_span("GraphQL Operation", kind=SpanKind.SERVER)
        token = context.attach(trace.set_span_in_context(span))
        refused: list[GraphQLError] = []
        try:
            yield
        except GraphQLError as exc:  # raised by the parser or a limit before the engine reports
            refused.append(exc)
            raise
        finally:
            context.detach(token)
            if span.is_recording():
                self._describe(span, refused)
            span.end()

    def _describe(self, span: trace.Span, refused: list[GraphQLError]) -> None:
        ec = self.execution_context
        document = ec.graphql_document
        operation = get_operation_ast(document, ec.operation_name) if document else None
        if operation is not None:
            kind = operation.operation.value
            span.update_name(kind)
            span.set_attribute("graphql.operation.type", kind)
            if operation.name is not None:
                span.set_attribute("graphql.operation.name", operation.name.value)
        settings = getattr(ec.context, "settings", None)
        if document is not None and getattr(settings, "trace_document", True):
            span.set_attribute("graphql.document", stripped(document))
        errors = ec.pre_execution_errors or (ec.result.errors if ec.result else None) or refused
        if errors:
            codes = sorted({_code(e) for e in errors})
            span.set_attribute("graphql.error.codes", codes)
            if ec.result is None or ec.result.data is None:
                span.set_status(Status(StatusCode.ERROR, codes[0]))


def _code(error: GraphQLError) -> str:
    """The error's ``extensions.code``; a syntax error not yet classified is a parse failure."""
    code = (error.extensions or {}).get("code")
    if code is None:
        return "GRAPHQL_PARSE_FAILED" if isinstance(error, GraphQLSyntaxError) else "INTERNAL"
    return str(code)
