"""Limits that stop abusive requests before any database command.

HTTP level (checked by :mod:`gateway.web.gate` once the key is known, before the body is parsed):
the request body (``max_body_bytes``, HTTP 413; ``body_timeout_seconds``, HTTP 408), batched
requests (a JSON array body, HTTP 400), and JSON that would hurt a parser (nested deeper than
``max_json_depth``, invalid UTF-8, a lone surrogate: HTTP 400 ``BAD_USER_INPUT``), all with the
GraphQL-shaped body ``{"errors": [{"message", "extensions": {"code"}}]}``.

Document level (checked by :class:`resolvers.schema.guard.Guard` before validation or execution):
the document's length (``max_document_length`` characters, comments included), tokens
(``max_tokens``, before parsing), depth (``max_depth``), aliases (``max_aliases``) counted
through fragments, directives (``max_directives``), and string lengths (``max_string_length``).
Each refusal names the limit (its setting) in its message. Fragments are followed by the one
document walker, :mod:`gateway.admission.walker`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import orjson
from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    StringValueNode,
    Visitor,
    visit,
)
from graphql.language import Lexer, Source, TokenKind

from gateway.admission.walker import Walker, operations_of
from gateway.errors import Refused
from gateway.settings import Settings

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


def too_complex(message: str, **extensions: Any) -> GraphQLError:
    """A pre-execution error with code QUERY_TOO_COMPLEX."""
    return GraphQLError(message, extensions={"code": TOO_COMPLEX, **extensions})


async def read_body(headers: Mapping[str, str], receive: Receive, settings: Settings) -> bytes:
    """The whole request body; HTTP 413 as soon as it passes ``max_body_bytes``, HTTP 408 when
    it has not arrived whole within ``body_timeout_seconds``."""
    limit = settings.max_body_bytes
    refusal = Refused(413, TOO_COMPLEX, f"The request body is larger than {limit} bytes "
                      "(limit max_body_bytes).", {"Connection": "close"})
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise refusal
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(settings.body_timeout_seconds):
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise refusal
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise Refused(408, "BAD_USER_INPUT", "The request body did not arrive within "
                      f"{settings.body_timeout_seconds:g} seconds (limit body_timeout_seconds).",
                      {"Connection": "close"}) from None
    return b"".join(chunks)


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def json_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (strings skipped; no parsing)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def check_json(raw: bytes, settings: Settings, what: str = "request body") -> None:
    """HTTP 400 ``BAD_USER_INPUT`` for JSON that a parser must not see: nested deeper than
    ``max_json_depth``, not UTF-8, or with a lone surrogate (``"\\ud800"``). Plain syntax errors
    are left to the GraphQL view."""
    limit = settings.max_json_depth
    if json_depth(raw) > limit:
        raise Refused(400, "BAD_USER_INPUT", f"The JSON {what} is nested more than {limit} "
                      "levels deep (limit max_json_depth).")
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
        if "UTF-8" in reason or "surrogate" in reason:
            raise Refused(400, "BAD_USER_INPUT", f"The {what} is not valid UTF-8 JSON "
                          "(invalid bytes or a lone surrogate).") from None


def check_batch(body: bytes, settings: Settings) -> None:
    """Refuse a JSON array body (a batch of operations) unless ``batch_requests`` is on."""
    if not settings.batch_requests and body.lstrip()[:1] == b"[":
        raise Refused(400, TOO_COMPLEX, "Batched requests (a JSON array body) are disabled "
                      "(limit batch_requests); send one operation per request.")


def check_tokens(query: str, settings: Settings) -> int:
    """Refuse a document of more than ``max_tokens`` tokens, counted before parsing; the
    count (up to a syntax error, which the parser reports with its own code)."""
    lexer = Lexer(Source(query))
    count = 0
    try:
        while lexer.advance().kind != TokenKind.EOF:
            count += 1
            if count > settings.max_tokens:
                raise too_many_tokens(settings)
    except GraphQLError as error:
        if error.extensions and error.extensions.get("code") == TOO_COMPLEX:
            raise
    return count


def too_many_tokens(settings: Settings) -> GraphQLError:
    return too_complex(f"The document has more than {settings.max_tokens} tokens (limit "
                       "max_tokens).")


@dataclass(frozen=True)
class Profile:
    """What the document-level limits need to know of a document (cached with it, by hash)."""

    depth: int
    aliases: int
    directives: int
    longest_literal: int
    introspection: str | None
    root_fields: frozenset[str]


def profile(document: DocumentNode) -> Profile:
    """The document's depth, aliases, directives, longest string literal and root fields."""
    walker = Walker.of(document)
    operations = operations_of(document)

    def depth(field: FieldNode) -> int:
        # Introspection (__schema, __type) is not counted: GraphiQL's query is deep.
        if field.name.value.startswith("__"):
            return 1
        return 1 + walker.measure("depth", field.selection_set, depth, _deepest)

    def aliases(field: FieldNode) -> int:
        return (field.alias is not None) + walker.measure("aliases", field.selection_set,
                                                          aliases, sum)

    longest = 0
    directives = 0

    class Literals(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            nonlocal longest
            longest = max(longest, len(node.value))

        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            nonlocal directives
            directives += 1

    visit(document, Literals())
    return Profile(
        depth=max((walker.measure("depth", op.selection_set, depth, _deepest)
                   for op in operations), default=0),
        aliases=max((walker.measure("aliases", op.selection_set, aliases, sum)
                     for op in operations), default=0),
        directives=directives,
        longest_literal=longest,
        introspection=uses_introspection(document),
        root_fields=frozenset(root_field_names(document)),
    )


def _deepest(depths: Iterable[int]) -> int:
    return max(depths, default=0)


def check_length(query: str, settings: Settings) -> None:
    """Refuse a document longer than ``max_document_length`` characters (comments and
    whitespace count: they cost memory and lexing like anything else)."""
    if len(query) > settings.max_document_length:
        raise too_complex(f"The document has {len(query)} characters; at most "
                          f"{settings.max_document_length} are allowed (limit "
                          "max_document_length).")


def check_shape(found: Profile, settings: Settings) -> list[GraphQLError]:
    """Depth and alias limits (before validation)."""
    if found.depth > settings.max_depth:
        return [too_complex(f"The query is {found.depth} levels deep; at most "
                            f"{settings.max_depth} are allowed (limit max_depth).")]
    if found.aliases > settings.max_aliases:
        return [too_complex(f"The query uses {found.aliases} aliases (counted through "
                            f"fragments); at most {settings.max_aliases} are allowed "
                            "(limit max_aliases).")]
    if found.directives > settings.max_directives:
        return [too_complex(f"The document has {found.directives} directives; at most "
                            f"{settings.max_directives} are allowed (limit max_directives).")]
    return []


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def check_strings(
    found: Profile, variables: Mapping[str, Any] | None, settings: Settings
) -> list[GraphQLError]:
    """BAD_USER_INPUT when a string literal or variable is longer than ``max_string_length``."""
    limit = settings.max_string_length
    strings = list(_strings(dict(variables or {})))
    if not all(s.isascii() or _encodable(s) for s in strings):
        return [GraphQLError("A variable holds a lone surrogate (not a Unicode character).",
                             extensions={"code": "BAD_USER_INPUT"})]
    longest = max([found.longest_literal, *(len(s) for s in strings)])
    if longest > limit:
        return [GraphQLError(f"A string argument has {longest} characters; at most {limit} are "
                             "allowed (limit max_string_length).",
                             extensions={"code": "BAD_USER_INPUT"})]
    return []


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_unicode(query: str) -> None:
    """BAD_USER_INPUT for a document holding a lone surrogate (it could not even be echoed)."""
    if not (query.isascii() or _encodable(query)):
        raise GraphQLError("The document holds a lone surrogate (not a Unicode character).",
                           extensions={"code": "BAD_USER_INPUT"})


def root_field_names(document: DocumentNode) -> set[str]:
    """Names of the fields selected at the root of any operation (through fragments)."""
    walker = Walker.of(document)
    return {field.name.value for operation in operations_of(document)
            for field in walker.fields(operation.selection_set)}


def uses_introspection(document: DocumentNode) -> str | None:
    """The first ``__schema`` or ``__type`` field anywhere in the document, if any."""
    found: list[str] = []

    class Fields(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.name.value in ("__schema", "__type") and not found:
                found.append(node.name.value)

    visit(document, Fields())
    return found[0] if found else None
