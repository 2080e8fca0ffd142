"""The GraphQL layer: one module per domain (its types, field resolvers and loaders' use),
``mutations/`` for every write, and ``schema/`` for how the schema is built and run. Rules and
I/O live below, in :mod:`gateway`."""
