"""Row-level scoping: what a caller may read, applied in the repository layer.

An admin's scope is unrestricted; a partner's names its channels. Every repository function
that reads a channel-bound collection takes the caller's scope and adds the filter itself,
so no resolver, loader or cursor can reach another channel's rows:

- ``channels``: its channels (by ``_id``);
- ``locations``, ``orders``, ``payments``, ``visits``, ``identities``: rows of its channels
  (``channel_id``);
- ``order_events``, ``refunds``, ``returns``: rows of the orders of its channels
  (``channel_id``, the order's channel, wherever the step took place);
- ``inventory``: stock at the locations of its channels (through the scoped ``locations``);
- ``products``: products offered in its channels, with only those offers;
- ``points_ledger``: entries booked in its channels (``channel_id``: the order's channel, or
  the home channel for the signup bonus), without the member-wide running ``balance``;
- ``merges``: merges in effect that moved an identity of its channels (``channel_ids``), with
  only those identities, without the points moved and without who merged or unmerged;
- ``members``: members holding an identity in its channels, or merged into another by a merge
  it sees; personal data masked, member-wide ``points`` and ``tier`` removed.

``inventory``, ``stock_movements`` and ``transfers`` name locations, not a channel: their
scope (at the partner's locations) is in :mod:`gateway.database.stock`.
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
        """``query`` limited to the caller's channels (unchanged for an admin).

        ``field`` may hold one channel id or an array of them (then any element matches).
        """
        if self.channels is None:
            return query
        return {"$and": [query, {field: {"$in": sorted(self.channels)}}]} if query else {
            field: {"$in": sorted(self.channels)}
        }


ADMIN = Scope()
