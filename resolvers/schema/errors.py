"""Maps every error to a stable ``extensions.code``, in exactly one place.

- :class:`gateway.errors.GatewayError` subclasses keep their message and code;
- an unreachable MongoDB becomes ``UNAVAILABLE``;
- parse and validation errors get ``GRAPHQL_PARSE_FAILED`` / ``GRAPHQL_VALIDATION_FAILED``,
  and a variable that does not coerce gets ``BAD_USER_INPUT``;
- anything else is masked as ``INTERNAL``: the details go to the log only.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError, GraphQLSyntaxError
from pymongo.errors import AutoReconnect, ConnectionFailure, ExecutionTimeout, NetworkTimeout

from gateway.errors import GatewayError

log = logging.getLogger("gateway.errors")

UNAVAILABLE_ERRORS = (ConnectionFailure, AutoReconnect, NetworkTimeout, ExecutionTimeout)
INTERNAL_MESSAGE = "Internal server error."
UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly."


def classify(error: GraphQLError) -> str:
    """Rewrite ``error`` in place with its code (and a safe message); return the code."""
    original = error.original_error
    extensions = dict(error.extensions or {})
    if isinstance(original, GatewayError):
        code = original.code
        if original.field:
            extensions.setdefault("field", original.field)
    elif isinstance(original, UNAVAILABLE_ERRORS):
        code = "UNAVAILABLE"
        error.message = UNAVAILABLE_MESSAGE
    elif original is None and "code" in extensions:
        code = extensions["code"]
    elif original is None and isinstance(error, GraphQLSyntaxError):
        code = "GRAPHQL_PARSE_FAILED"
    elif error.path is None and (original is None or isinstance(original, GraphQLError)):
        code = "BAD_USER_INPUT" if error.message.startswith("Variable ") else (
            "GRAPHQL_VALIDATION_FAILED"
        )
    else:
        code = "INTERNAL"
        error.message = INTERNAL_MESSAGE
    extensions["code"] = code
    error.extensions = extensions
    return code


def process(errors: list[GraphQLError]) -> None:
    """Classify each error and log it: INTERNAL with its traceback, the rest in one line."""
    for error in errors:
        original = error.original_error
        code = classify(error)
        if code == "INTERNAL":
            log.error("internal error at %s", error.path, exc_info=original)
        else:
            log.info("%s at %s: %s", code, error.path, error.message)
