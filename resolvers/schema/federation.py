"""Apollo Federation: how a router or gateway resolves our entities through ``_entities``.

Strawberry's federation schema does the printing (``_service { sdl }``); this module decides
how representations become objects:

- each representation names an entity type and carries its ``@key`` fields; the key values
  are checked like any id we accept (``ids.check``), and a malformed one fails only its own
  position: the error's path is ``["_entities", <index>]`` and the other positions resolve;
- key fields are passed to ``resolve_reference`` under their Python names (``channelId``
  arrives as ``channel_id``), so entities keyed by camelCase fields resolve;
- every ``resolve_reference`` goes through the request's DataLoaders, so N representations of
  one type cost one database command, and an unknown id is ``null``;
- :class:`RepresentationLimit` refuses a request that asks for more than
  ``Settings.max_representations`` representations (``QUERY_TOO_COMPLEX``), before anything
  is executed, so no database command is sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, cast

import strawberry
from graphql import (
    DocumentNode,
    GraphQLError,
    ListValueNode,
    OperationType,
    ValueNode,
    VariableNode,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.federation.schema import FederationAny

from gateway import ids
from gateway.admission.walker import Walker
from gateway.context import Info
from gateway.errors import BadUserInput, QueryTooComplex

if TYPE_CHECKING:
    from strawberry.types.base import StrawberryObjectDefinition

KeyCheck = Callable[[Any], str]


def _check(field: str, prefix: str | None) -> KeyCheck:
    if prefix is None:
        return lambda value: ids.check_external_id(value, field=field)
    return lambda value: ids.check(value, prefix, field=field)


def _argument(field: str) -> str:
    """``channelId`` -> ``channel_id``: the name ``resolve_reference`` takes."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", field).lower()


# For each entity of the one entity table (gateway.ids.ENTITIES): its @key fields, as
# GraphQL name -> (resolve_reference argument, check).
ENTITY_KEYS: Final[Mapping[str, Mapping[str, tuple[str, KeyCheck]]]] = {
    entity.type: {field: (_argument(field), _check(field, prefix)) for field, prefix in entity.key}
    for entity in ids.ENTITIES if entity.key
}


def reference_arguments(representation: object) -> tuple[str, dict[str, str]]:
    """The entity type a representation names and its checked ``resolve_reference`` kwargs.

    Raises BadUserInput for anything that is not a representation of one of our entities with
    well-formed key fields. Fields beyond the key are ignored.
    """
    if not isinstance(representation, dict):
        raise BadUserInput("A representation is an object with __typename and key fields.",
                           field="representations")
    type_name = representation.get("__typename")
    keys = ENTITY_KEYS.get(type_name) if isinstance(type_name, str) else None
    if keys is None or not isinstance(type_name, str):
        raise BadUserInput(
            f"Unknown entity type {str(type_name)[:64]!r}; entities: {', '.join(ENTITY_KEYS)}.",
            field="representations",
        )
    arguments = {}
    for name, (argument, check) in keys.items():
        if name not in representation:
            raise BadUserInput(f"This {type_name} representation lacks its key field {name!r}.",
                               field=name)
        arguments[argument] = check(representation[name])
    return type_name, arguments


class FederationSchema(strawberry.federation.Schema):
    """Strawberry's federation schema with our ``_entities`` resolution (see module doc)."""

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        # RepresentationLimit refuses the request before execution; this is the backstop.
        limit = info.context.settings.max_representations
        if len(representations) > limit:
            raise too_many(len(representations), limit)
        # Each position is an awaitable, an object or an exception: graphql-core raises the
        # exception at ["_entities", index] and awaits the rest together (one loader tick).
        return [self._resolve_reference(info, r) for r in representations]

    def _resolve_reference(self, info: Info, representation: object) -> Any:
        try:
            type_name, arguments = reference_arguments(representation)
            definition = cast(
                "StrawberryObjectDefinition", self.schema_converter.type_map[type_name].definition
            )
            origin: Any = definition.origin
            return origin.resolve_reference(info=info, **arguments)
        except Exception as error:  # reported at its index, not for the whole list
            return error


def count_representations(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any]
) -> int:
    """How many representations the operation's root ``_entities`` fields ask for."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.QUERY:
        return 0
    defaults = {
        d.variable.name.value: d.default_value for d in operation.variable_definitions or ()
    }
    total = 0
    for field in Walker.of(document).fields(operation.selection_set, "_entities"):
        for argument in field.arguments or ():
            if argument.name.value == "representations":
                total += _list_length(argument.value, variables, defaults)
    return total


def _list_length(
    value: ValueNode | None, variables: Mapping[str, Any], defaults: Mapping[str, Any]
) -> int:
    """The number of items a list argument will hold (a single value counts as one)."""
    if value is None:
        return 0
    if isinstance(value, ListValueNode):
        return len(value.values)
    if isinstance(value, VariableNode):
        name = value.name.value
        if name not in variables:
            return _list_length(defaults.get(name), variables, {})
        given = variables[name]
        return len(given) if isinstance(given, list) else int(given is not None)
    return 1


def too_many(count: int, limit: int) -> QueryTooComplex:
    return QueryTooComplex(
        f"A request may resolve at most {limit} entity representations; this one asks for "
        f"{count}. Split it into several requests.",
        field="representations",
    )


class RepresentationLimit(SchemaExtension):
    """Refuses, before execution, a request over ``Settings.max_representations``."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.result is None:
            limit: int = context.context.settings.max_representations
            count = count_representations(
                document, context.operation_name, context.variables or {}
            )
            if count > limit:
                error = too_many(count, limit)
                context.result = GraphQLExecutionResult(
                    data=None, errors=[GraphQLError(error.message, original_error=error)]
                )
        yield
