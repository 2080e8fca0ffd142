"""Which operation a request runs, as the GraphQL specification's GetOperation says.

- A document with several operations needs ``operationName``; without it the request fails
  (strawberry would run the first one).
- Subscriptions run over WebSocket (graphql-transport-ws) only: sent by HTTP POST or GET they
  are refused with a clear message (strawberry would start one and end in an error).

Both are request errors, reported with the document's validation errors, before execution
and any database command: ``data`` is absent, and with ``application/graphql-response+json``
the status is 400. The extension comes after the Guard in the schema's list: the Guard sets
the validation errors, these replace them, and the Guard refunds what it charged for an
operation that did not run.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, OperationType
from starlette.requests import Request
from strawberry.extensions import SchemaExtension

from gateway.context import Context


class OperationChoice(SchemaExtension):
    """Refuses an ambiguous document and subscriptions over HTTP."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.graphql_document is not None:
            refusal = self._refusal(ec.graphql_document, ec._provided_operation_name)
            if refusal is not None:
                ec.pre_execution_errors = [refusal]
        yield

    def _refusal(self, document: DocumentNode, name: str | None) -> GraphQLError | None:
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if name is None and len(operations) > 1:
            return GraphQLError(
                f"The document holds {len(operations)} operations: name the one to run in "
                "`operationName`.", extensions={"code": "GRAPHQL_VALIDATION_FAILED"})
        chosen = next((o for o in operations if name is None or (
            o.name is not None and o.name.value == name)), None)
        context = self.execution_context.context
        if (
            chosen is not None and chosen.operation is OperationType.SUBSCRIPTION
            and isinstance(context, Context) and isinstance(context.request, Request)
        ):
            return GraphQLError(
                "Subscriptions run over WebSocket at /graphql (graphql-transport-ws, as "
                "graphql-ws and Apollo Client speak it), not over HTTP.",
                extensions={"code": "BAD_REQUEST"})
        return None
