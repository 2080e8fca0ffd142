"""Persisted queries: Apollo's Automatic Persisted Queries (APQ) and a safelist mode.

APQ (the default): a client sends ``extensions.persistedQuery = {version: 1, sha256Hash}``
without the query text. A known hash runs the cached query; an unknown one answers
``PERSISTED_QUERY_NOT_FOUND`` (HTTP 200, as Apollo Server and Router do, so that Apollo
Client retries with the text instead of turning APQ off); the retry carries both, the
gateway checks the hash and remembers the text in an in-process LRU store (at most
``apq_cache_size`` texts of at most ``max_document_length`` characters). GET works for
cached queries, so they can be cached by CDNs. Each worker has its own store: a miss on
another worker costs one retry.

Safelist (``OMNIGW_PERSISTED_QUERIES_MANIFEST`` names a manifest in Apollo's
persisted-query manifest format, read by :mod:`gateway.manifest`): only the manifest's
operations run, by id or by exact text; anything else answers ``PERSISTED_QUERY_NOT_IN_LIST``
(HTTP 400) and nothing is learned.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from strawberry.http import GraphQLRequestData

from gateway.errors import Refused
from gateway.manifest import Manifest

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


class PersistedQueries:
    """Resolves the query text of a request (APQ or safelist); see the module docstring."""

    def __init__(self, *, manifest: Manifest | None = None, cache_size: int = 1000,
                 max_length: int = 32_000) -> None:
        self.manifest = manifest
        self.cache_size = cache_size
        self.max_length = max_length
        self._cache: OrderedDict[str, str] = OrderedDict()

    def resolve(self, request: GraphQLRequestData) -> GraphQLRequestData:
        """``request`` with its query text filled in, or :class:`Refused`."""
        wanted = _requested_hash(request.extensions)
        if self.manifest is not None:
            return self._from_safelist(request, wanted, self.manifest)
        if wanted is None:
            return request
        if request.query is None:
            cached = self._cache.get(wanted)
            if cached is None:
                raise Refused(
                    200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound"
                )
            self._cache.move_to_end(wanted)
            return replace(request, query=cached)
        if sha256(request.query) != wanted:
            raise Refused(
                400, "PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query"
            )
        if len(request.query) <= self.max_length:
            self._cache[wanted] = request.query
            self._cache.move_to_end(wanted)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return request

    def _from_safelist(
        self, request: GraphQLRequestData, wanted: str | None, manifest: Manifest
    ) -> GraphQLRequestData:
        if wanted is not None:
            body = manifest.by_id.get(wanted)
            if body is None or (request.query is not None and request.query != body):
                raise Refused(
                    400, "PERSISTED_QUERY_NOT_IN_LIST",
                    f"Persisted query {wanted} is not in the list of allowed operations.",
                )
            return replace(request, query=body)
        if request.query is not None and request.query not in manifest.bodies:
            raise Refused(
                400, "PERSISTED_QUERY_NOT_IN_LIST",
                "Only the operations of the persisted-query list may run.",
            )
        return request


def _requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The ``sha256Hash`` of ``extensions.persistedQuery`` (checked), or None."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise Refused(
            400, "PERSISTED_QUERY_NOT_SUPPORTED",
            "Unsupported persisted query: extensions.persistedQuery needs version 1.",
        )
    wanted = persisted.get("sha256Hash")
    if not isinstance(wanted, str) or not _SHA256.match(wanted):
        raise Refused(
            400, "BAD_USER_INPUT", "persistedQuery.sha256Hash must be 64 lowercase hex digits."
        )
    return wanted
