"""Parsed documents, with what the limits and validation found, cached by hash with a bound.

One LRU of ``CACHE_SIZE`` entries per schema, keyed by the SHA-256 of the query text (never the
text itself). Only documents within ``max_document_length`` reach it (longer ones are refused
before parsing), and every document was counted by ``max_tokens`` first, so an entry is at most
one such document, its syntax tree and its profile: the cache's memory is bounded whatever
callers send. The entry keeps the token count, so a document found in the cache is not lexed
again to be counted. Validation's verdict is kept with the entry (validation is the costly
part) and copied per request, since error handling rewrites errors in place; a document that
does not validate is not kept.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse

from gateway.admission.limits import Profile, profile

CACHE_SIZE = 256


@dataclass
class Entry:
    """One cached document."""

    document: DocumentNode
    profile: Profile
    tokens: int = 0  # counted before it was parsed
    errors: tuple[GraphQLError, ...] | None = None  # validation's, once it has run


def copy(error: GraphQLError) -> GraphQLError:
    return GraphQLError(error.message, error.nodes, error.source, error.positions, error.path,
                        error.original_error, error.extensions)


class Documents:
    """The LRU of one schema."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str, count: Callable[[str], int], **parse_options: Any) -> Entry:
        """The entry of ``query``; on a miss ``count`` (which refuses a document of too many
        tokens by raising) counts its tokens, then it is parsed (a syntax error is raised, not
        kept)."""
        digest = hashlib.sha256(query.encode("utf-8")).digest()
        entry = self._entries.get(digest)
        if entry is not None:
            self._entries.move_to_end(digest)
            return entry
        tokens = count(query)
        document = parse(query, **parse_options)
        entry = Entry(document, profile(document), tokens)
        self._entries[digest] = entry
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def validate(self, query: str, entry: Entry,
                 run: Callable[[], Sequence[GraphQLError]]) -> list[GraphQLError]:
        """Validation's errors for the entry (``run`` once while it is cached). A document that
        does not validate leaves the cache: its errors (up to graphql-core's 100) are not kept,
        and each new attempt pays its admission charge again."""
        if entry.errors is None:
            errors = tuple(run())
            if errors:
                self._entries.pop(hashlib.sha256(query.encode("utf-8")).digest(), None)
                return list(errors)
            entry.errors = errors
        return [copy(e) for e in entry.errors]


_by_schema: WeakKeyDictionary[GraphQLSchema, Documents] = WeakKeyDictionary()


def documents_of(schema: GraphQLSchema) -> Documents:
    """The cache of ``schema`` (created on first use)."""
    found = _by_schema.get(schema)
    if found is None:
        found = _by_schema[schema] = Documents()
    return found
