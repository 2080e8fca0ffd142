"""The public surface: schema.graphql matches the code, and everything is described."""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from gateway.cli.main import schema_sdl
from resolvers.schema import build_schema
from tests.support import ROOT


def test_schema_graphql_is_in_sync_with_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema_sdl(), "schema.graphql is stale: run `make schema`"


def test_every_type_field_and_argument_is_described() -> None:
    schema = build_schema()._schema
    missing = []
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or name.startswith("_") or name in {
            "String", "Int", "Float", "Boolean", "ID", "Query", "DateTime", "Decimal",
            "link__Import", "link__Purpose", "federation__Scope", "federation__Policy",
            "federation__FieldSet", "FieldSet",
        }:
            continue
        if not type_.description:
            missing.append(name)
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for field_name, field in type_.fields.items():
                if field_name.startswith("_"):
                    continue
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        if isinstance(type_, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in type_.values.items() if not value.description]
    assert missing == []
