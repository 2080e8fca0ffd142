"""Row-level scoping: what a caller may read, applied in the repository layer.

An admin's scope is unrestricted; a partner's names its channels, and every query on a
channel-bound collection gets ``channel_id: {$in: channels}`` added to its filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scope:
    """The channels a caller may see (``None``: all of them)."""

    channels: frozenset[str] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.channels is None

    def allows(self, channel_id: str | None) -> bool:
        return self.channels is None or channel_id in self.channels

    def restrict(self, query: dict[str, Any], field: str = "channel_id") -> dict[str, Any]:
        """``query`` limited to the caller's channels (unchanged for an admin)."""
        if self.channels is None:
            return query
        return {"$and": [query, {field: {"$in": sorted(self.channels)}}]} if query else {
            field: {"$in": sorted(self.channels)}
        }


ADMIN = Scope()
