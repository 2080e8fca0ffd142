"""A leaky bucket of query cost per API key, in process memory.

Each key's bucket holds up to ``throttle_bucket_size`` points and regains
``throttle_restore_rate`` points per second. A query is charged its requested cost before it
runs and refunded the difference once its actual cost is known (Shopify's model). A query that
costs more than is available is refused with ``THROTTLED`` and the seconds to wait.

The buckets live in one process: with several workers, each holds its own (a key may then
spend up to ``workers`` times the rate); a shared store would be the next step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_BUCKETS = 100_000


@dataclass
class Bucket:
    available: float
    updated: float


class Throttle:
    """The buckets of every key seen by this process."""

    def __init__(self, size: int, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.rate = rate
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}

    def _bucket(self, key: str) -> Bucket:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()  # every bucket then starts full: errs on the caller's side
            bucket = self._buckets[key] = Bucket(available=float(self.size), updated=now)
        else:
            bucket.available = min(float(self.size),
                                   bucket.available + (now - bucket.updated) * self.rate)
            bucket.updated = now
        return bucket

    def available(self, key: str) -> float:
        return self._bucket(key).available

    def charge(self, key: str, cost: int) -> float | None:
        """Take ``cost`` points; ``None`` on success, else the seconds to wait before retrying."""
        bucket = self._bucket(key)
        if cost <= bucket.available:
            bucket.available -= cost
            return None
        return max(0.01, math.ceil((cost - bucket.available) / self.rate * 100) / 100)

    def refund(self, key: str, points: int) -> None:
        """Give back points charged but not spent (requested minus actual cost)."""
        if points > 0:
            bucket = self._bucket(key)
            bucket.available = min(float(self.size), bucket.available + points)

    def status(self, key: str | None) -> dict[str, Any]:
        """``throttleStatus`` of ``extensions.cost``."""
        current = self.size if key is None else self.available(key)
        return {"maximumAvailable": float(self.size),
                "currentlyAvailable": math.floor(current),
                "restoreRate": float(self.rate)}
