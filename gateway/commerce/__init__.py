"""Business rules of every write: orders, stock, payments, visits, members, merges, imports.

Functions here take keyword-only arguments, read through the request's loaders and write
through ``gateway.database.writes`` (the only code that sends write commands). An expected
failure raises :class:`gateway.errors.Rejected` with typed user errors; the mutation
resolvers turn it into the payload's ``userErrors``.

There are no multi-document transactions: every step is one atomic single-document command
(a conditional ``$inc`` for stock and payments, a unique ``_id`` for idempotency keys and
identities), and a failed step undoes the earlier ones (compensation).
"""
