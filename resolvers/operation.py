"""Which operation a request runs, as the GraphQL specification's GetOperation says.

- A document with several operations needs ``operationName``; without it the request fails
  (strawberry would run the first one).
- Subscriptions run over WebSocket (graphql-transport-ws) only: sent by HTTP POST or GET they
  are refused with a clear message (strawberry would start one and end in an error).

Both are request errors, raised as soon as the document is parsed, before any limit, cost or
database command: ``data`` is absent, and with ``application/graphql-response+json`` the
status is 400.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode, OperationType
from starlette.requests import Request
from strawberry.extensions import SchemaExtension

from gateway.context import Context


class OperationChoice(SchemaExtension):
    """Refuses an ambiguous document and subscriptions over HTTP."""

    def on_parse(self) -> Iterator[None]:
        yield
        ec = self.execution_context
        document = ec.graphql_document
        if document is None:
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        name = ec._provided_operation_name
        if name is None and len(operations) > 1:
            raise GraphQLError(
                f"The document holds {len(operations)} operations: name the one to run in "
                "`operationName`.", extensions={"code": "GRAPHQL_VALIDATION_FAILED"})
        chosen = next((o for o in operations if name is None or (
            o.name is not None and o.name.value == name)), None)
        context = ec.context
        if (
            chosen is not None and chosen.operation is OperationType.SUBSCRIPTION
            and isinstance(context, Context) and isinstance(context.request, Request)
        ):
            raise GraphQLError(
                "Subscriptions run over WebSocket at /graphql (graphql-transport-ws, as "
                "graphql-ws and Apollo Client speak it), not over HTTP.",
                extensions={"code": "BAD_REQUEST"})
