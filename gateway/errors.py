"""The gateway's exception tree. Each class carries the stable ``extensions.code`` it maps to.

::

    GatewayError (INTERNAL)
     +-- NotFound          NOT_FOUND
     +-- BadUserInput      BAD_USER_INPUT
     +-- Forbidden         FORBIDDEN
     +-- Unauthenticated   UNAUTHENTICATED
     +-- QueryTooComplex   QUERY_TOO_COMPLEX
     +-- Unavailable       UNAVAILABLE

Raise these below the API layer; ``resolvers.schema.errors`` maps them to GraphQL errors in
exactly one
place and masks everything else as ``INTERNAL``.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base class: an error whose message is safe to show to the caller."""

    code = "INTERNAL"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(GatewayError):
    code = "NOT_FOUND"


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class Forbidden(GatewayError):
    code = "FORBIDDEN"


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class QueryTooComplex(GatewayError):
    code = "QUERY_TOO_COMPLEX"


class Unavailable(GatewayError):
    code = "UNAVAILABLE"
