"""The media types of GraphQL over HTTP: which one a client accepts, and error bodies in it
(every :class:`gateway.errors.Refused` is answered by :func:`refusal_response`)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from gateway.errors import Refused

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def negotiate(accept: str | None) -> str | None:
    """The media type to answer with, or ``None`` when the client accepts neither."""
    if not accept or not accept.strip():
        return JSON
    quality = {GRAPHQL_RESPONSE_JSON: 0.0, JSON: 0.0}
    wildcard = 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in quality:
            quality[media] = max(quality[media], q)
        elif media in ("*/*", "application/*"):
            wildcard = max(wildcard, q)
    json_q = quality[JSON] or wildcard
    if quality[GRAPHQL_RESPONSE_JSON] > 0 and quality[GRAPHQL_RESPONSE_JSON] >= json_q:
        return GRAPHQL_RESPONSE_JSON
    return JSON if json_q > 0 else None


def error_body(message: str, code: str | None = None, **extensions: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code, **extensions}
    return {"errors": [error]}


def error_response(
    accept: str | None, status: int, message: str, code: str,
    headers: dict[str, str] | None = None, **extensions: Any,
) -> JSONResponse:
    """A GraphQL-shaped error body in the media type the client accepts (``application/json``
    when it accepts neither, as for a 406); ``extensions`` beside the code."""
    response = JSONResponse(error_body(message, code, **extensions), status_code=status,
                            headers=headers)
    if negotiate(accept) == GRAPHQL_RESPONSE_JSON:
        response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    return response


def refusal_response(refusal: Refused, accept: str | None) -> JSONResponse:
    """The refusal in the media type the client accepts: its status, code, headers and
    extensions."""
    return error_response(accept, refusal.status, refusal.message, refusal.code,
                          refusal.headers, **refusal.extensions)
