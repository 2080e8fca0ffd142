"""Every exception the gateway raises on purpose, in one tree, each with its stable code.

::

    Exception
     +-- GatewayError            INTERNAL           a message that is safe to show the caller
     |    +-- NotFound           NOT_FOUND
     |    +-- BadUserInput       BAD_USER_INPUT     malformed input (a malformed id, anywhere)
     |    +-- Forbidden          FORBIDDEN
     |    +-- QueryTooComplex    QUERY_TOO_COMPLEX
     |    +-- Unavailable        UNAVAILABLE
     |    +-- Refused            (its own code)     refused at the HTTP edge, before GraphQL runs:
     |         |                                    an HTTP status, headers, extensions
     |         +-- Unauthenticated  401 UNAUTHENTICATED  no key, or a malformed, unknown or
     |         |                                         revoked one
     |         +-- Throttled        429 THROTTLED        too many failed authentications, or a
     |                                                   bucket that cannot pay
     +-- Rejected                                   a write refused for expected reasons: typed
     |                                              UserErrors (USER_ERROR_CODES), returned as
     |                                              data in the payload, never as a GraphQL error
     +-- AlreadyDone                                an exactly-once write found its object
                                                    written already (gateway.commerce only)

Each becomes an answer in exactly one place: a :class:`GatewayError` raised while a field
resolves in :mod:`resolvers.schema.errors` (its ``extensions.code``; anything else is masked as
``INTERNAL``); a :class:`Refused` in :func:`gateway.web.media.refusal_response` (a GraphQL-shaped
body with its HTTP status); a :class:`Rejected` in :func:`resolvers.mutations.common.user_errors`
(the payload's ``userErrors``).

A malformed id is :class:`BadUserInput` wherever it is given, a query's argument or a
mutation's input (:mod:`gateway.ids`): like a value that does not coerce, it fails the field
with a GraphQL error naming the input in ``extensions.field``, before any database command.
``userErrors`` are for input that is well formed but refused by the rules: an unknown id is
``NOT_FOUND`` there, a location of another channel ``INVALID``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final


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


class QueryTooComplex(GatewayError):
    code = "QUERY_TOO_COMPLEX"


class Unavailable(GatewayError):
    code = "UNAVAILABLE"


class Refused(GatewayError):
    """A request refused at the HTTP level: status, code, message, headers, and extensions
    beside the code (``retryAfterSeconds``)."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Mapping[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = dict(headers or {})
        self.extensions = extensions


class Unauthenticated(Refused):
    """No key, a malformed key, an unknown key or a revoked key (HTTP 401)."""

    def __init__(self, message: str) -> None:
        super().__init__(401, "UNAUTHENTICATED", message,
                         {"WWW-Authenticate": 'Bearer realm="omnigw"', "Connection": "close"})


class Throttled(Refused):
    """HTTP 429: come back in ``retry_after`` seconds (``Retry-After``, whole seconds)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(429, "THROTTLED", message,
                         {"Retry-After": str(max(1, math.ceil(retry_after))),
                          "Connection": "close"}, retryAfterSeconds=retry_after)
        self.retry_after = retry_after


# Stable codes of user errors (the GraphQL enum ``UserErrorCode`` mirrors them).
USER_ERROR_CODES: Final = (
    "NOT_FOUND",
    "INVALID",
    "INSUFFICIENT_STOCK",
    "IDEMPOTENCY_KEY_REUSED",
    "IDEMPOTENCY_KEY_IN_USE",
    "IDENTITY_TAKEN",
    "PHONE_TAKEN",
    "CURRENCY_MISMATCH",
    "OVERPAYMENT",
    "STOCK_CHANGED",
    "CONFLICT",
    "LIMIT_EXCEEDED",
    "COUPON_EXHAUSTED",
    "COUPON_NOT_APPLICABLE",
    "INSUFFICIENT_POINTS",
)


@dataclass(frozen=True)
class UserError:
    """One expected failure of a write: which input field, a stable code, a readable message."""

    field: str | None
    code: str
    message: str


class Rejected(Exception):
    """A write refused for expected reasons; nothing was written (or it was undone)."""

    def __init__(self, *errors: UserError) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


def reject(code: str, message: str, *, field: str | None = None) -> Rejected:
    """A :class:`Rejected` with one user error."""
    return Rejected(UserError(field=field, code=code, message=message))


class AlreadyDone(Exception):
    """Raised by a resumed exactly-once work whose object already exists
    (:mod:`gateway.commerce.idempotency`)."""
