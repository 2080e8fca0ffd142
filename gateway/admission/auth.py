"""API keys and the principals they stand for.

A key is ``omnigw_`` followed by 32 random bytes (URL-safe base64). It is shown once, when it is
created; the database keeps only ``HMAC-SHA256(pepper, key)`` as the document's ``_id``. The
pepper is a server secret (``OMNIGW_KEY_PEPPER``). A keyed hash, not a slow one, because keys
are long random secrets (no dictionary to guess from) and a request must not pay scrypt's cost;
without the pepper a stolen ``api_keys`` collection gives nothing to try. A lookup is a find by
``_id`` followed by :func:`hmac.compare_digest` of the stored and computed hashes.

Lookups are cached per process for ``key_cache_ttl_seconds`` (10 s by default): in steady state
a request costs no database command for its key (a revoked key stops working within that time).
The first request of a key sends one ``find`` on ``api_keys``; it runs before the operation, so
it is not counted in ``extensions.db``. Keys found and keys not found are cached apart, each a
bounded LRU keyed by the key's hash: a flood of random keys evicts only other unknown keys.

Failed authentications are counted per client address (:class:`FailureLimiter`): past
``auth_failures_per_minute`` an address gets HTTP 429 before its key is hashed or looked up.

Keys are created, listed and revoked by :mod:`gateway.admission.keys`.

Roles: ``admin`` sees everything; ``partner`` sees the rows of its channels; ``federation`` (a
router's key) may read ``_service`` in production mode and sees the rows of its channels (none
unless given).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from gateway.database import Database, keys
from gateway.database.scope import ADMIN, Scope
from gateway.errors import Throttled, Unauthenticated
from gateway.settings import KEY_PATTERN, Settings

ROLES: Final = ("admin", "partner", "federation")
KEY_PREFIX: Final = "omnigw_"
# The development pepper: acceptable on the embedded store only (settings refuse production
# mode against MONGODB_URI without OMNIGW_KEY_PEPPER).
DEV_PEPPER: Final = b"omnigw-development-pepper-not-for-production"
TOKEN = re.compile(KEY_PATTERN)
CACHE_SIZE: Final = 10_000


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id (a prefix of its hash), name, role and channels."""

    key_id: str
    name: str
    role: str
    channels: tuple[str, ...] = ()

    @property
    def scope(self) -> Scope:
        return ADMIN if self.role == "admin" else Scope(channels=frozenset(self.channels))

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def pepper(settings: Settings) -> bytes:
    """The server secret keys are hashed with (the development one when unset)."""
    if settings.key_pepper is None:
        return DEV_PEPPER
    return settings.key_pepper.get_secret_value().encode()


def hash_key(key: str, secret: bytes) -> str:
    """The stored form of a key: hex HMAC-SHA256 with the pepper."""
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def bearer_token(header: str | None) -> str:
    """The key of an ``Authorization: Bearer <key>`` header, or :class:`Unauthenticated`."""
    if not header:
        raise Unauthenticated("Missing API key: send the header 'Authorization: Bearer <key>'.")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not TOKEN.match(token):
        raise Unauthenticated("Malformed Authorization header: expected 'Bearer <key>'.")
    return token


class Authenticator:
    """Maps keys to principals, with per-process LRU caches of lookups (hits and misses)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._secret = pepper(settings)
        self._ttl = settings.key_cache_ttl_seconds
        self._clock = clock
        self._found: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._missing: OrderedDict[str, float] = OrderedDict()
        self.failures = FailureLimiter(settings.auth_failures_per_minute, clock)

    @property
    def ttl(self) -> float:
        return self._ttl

    async def admit(self, db: Database, header: str | None, address: str) -> Principal:
        """:meth:`authenticate`, unless ``address`` failed too often (:class:`Throttled`, without
        hashing or looking up the key); a failure counts against the address."""
        wait = self.failures.retry_after(address)
        if wait is not None:
            raise Throttled(f"Too many failed authentications from this address; retry in "
                            f"{wait:g} seconds (limit auth_failures_per_minute).", wait)
        try:
            return await self.authenticate(db, header)
        except Unauthenticated:
            self.failures.failed(address)
            raise

    async def authenticate(self, db: Database, header: str | None) -> Principal:
        """The principal of the request's key; :class:`Unauthenticated` for any bad key.

        An unreachable database raises :class:`pymongo.errors.PyMongoError`.
        """
        computed = hash_key(bearer_token(header), self._secret)
        now = self._clock()
        found = self._found.get(computed)
        if found is not None and found[0] > now:
            return found[1]
        missing = self._missing.get(computed)
        if missing is not None and missing > now:
            raise Unauthenticated("Invalid or revoked API key.")
        principal = self._principal(computed, await keys.by_hash(db, computed))
        self._remember(computed, principal, now)
        if principal is None:
            raise Unauthenticated("Invalid or revoked API key.")
        return principal

    @staticmethod
    def _principal(computed: str, doc: dict[str, Any] | None) -> Principal | None:
        if doc is None or not hmac.compare_digest(str(doc["_id"]), computed):
            return None
        if doc.get("revoked_at") is not None or doc.get("role") not in ROLES:
            return None
        return Principal(key_id=computed[:16], name=doc["name"], role=doc["role"],
                         channels=tuple(doc.get("channels", ())))

    def _remember(self, computed: str, principal: Principal | None, now: float) -> None:
        self._found.pop(computed, None)
        self._missing.pop(computed, None)
        if self._ttl <= 0:
            return
        if principal is None:
            self._missing[computed] = now + self._ttl
            cache: OrderedDict[str, Any] = self._missing
        else:
            self._found[computed] = (now + self._ttl, principal)
            cache = self._found
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)


class FailureLimiter:
    """Failed authentications per client address: a leaky bucket of ``per_minute`` failures
    that empties at ``per_minute`` a minute, in process memory (the addresses are bounded by
    an LRU of ``CACHE_SIZE``). An address whose bucket is full is refused before any lookup."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._level: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _current(self, address: str, now: float) -> float:
        level, at = self._level.get(address, (0.0, now))
        return max(0.0, level - (now - at) * self.rate)

    def retry_after(self, address: str) -> float | None:
        """Seconds until the address may try again, or ``None`` when it may now."""
        level = self._current(address, self.clock())
        if level + 1 <= self.size:
            return None
        return math.ceil((level + 1 - self.size) / self.rate * 100) / 100

    def failed(self, address: str) -> None:
        now = self.clock()
        self._level[address] = (self._current(address, now) + 1, now)
        self._level.move_to_end(address)
        while len(self._level) > CACHE_SIZE:
            self._level.popitem(last=False)
