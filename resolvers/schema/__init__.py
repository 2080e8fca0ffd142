"""How the schema is built and run: :mod:`~resolvers.schema.build` assembles the domain modules
into one federation schema; :mod:`~resolvers.schema.guard` (limits, cost, throttling),
:mod:`~resolvers.schema.operation`, :mod:`~resolvers.schema.extensions`,
:mod:`~resolvers.schema.federation`, :mod:`~resolvers.schema.execution` and
:mod:`~resolvers.schema.errors` run every operation."""

from resolvers.schema.build import Schema, build_schema

__all__ = ["Schema", "build_schema"]
