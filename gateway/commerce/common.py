"""Small helpers shared by the rules: new ids, FX snapshots, look-ups."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bson import ObjectId

from gateway.database.query import Doc
from gateway.errors import reject
from gateway.loaders import Loaders


def new_id(prefix: str) -> str:
    """A fresh id with a readable prefix; ids sort by creation time."""
    return f"{prefix}{ObjectId()}"


@dataclass(frozen=True)
class FxSnapshot:
    """The rate to the base currency at the moment of a write, the converted amount, and the
    id of the rate's snapshot (``None`` in the base currency, and for rates set before
    snapshots had ids)."""

    rate: Decimal
    base_amount: int
    snapshot_id: str | None = None

    @property
    def rate_text(self) -> str:
        return str(self.rate)


async def fx_snapshot(
    loaders: Loaders, *, amount: int, currency: str, base_currency: str, field: str
) -> FxSnapshot:
    """Convert ``amount`` with today's rate (half-even to the base minor unit)."""
    if currency == base_currency:
        return FxSnapshot(rate=Decimal(1), base_amount=amount)
    rates = await loaders.fx_rates.load(base_currency)
    rate, base_amount = rates.rate(currency), rates.to_base(amount, currency)
    if rate is None or base_amount is None:
        raise reject("INVALID", f"No exchange rate for {currency}.", field=field)
    return FxSnapshot(rate=rate, base_amount=base_amount,
                      snapshot_id=rates.snapshots.get(currency))


async def channel_doc(loaders: Loaders, channel_id: str, *, field: str = "channel") -> Doc:
    doc = await loaders.channels_by_id.load(channel_id)
    if doc is None:
        raise reject("NOT_FOUND", f"Unknown channel {channel_id}.", field=field)
    return doc


async def member_id_of(loaders: Loaders, member_id: str, *, field: str = "member") -> str:
    """The member that stands for ``member_id``: itself, or the survivor it was merged into."""
    doc = await loaders.members_by_id.load(member_id)
    if doc is None:
        raise reject("NOT_FOUND", f"Unknown member {member_id}.", field=field)
    survivor: str = doc.get("merged_into") or doc["_id"]
    return survivor


def location_problem(
    location: Doc | None, *, location_id: str, channel: Doc
) -> tuple[str, str] | None:
    """Why ``location_id`` cannot be used in ``channel``: (code, message), or None when it can.
    A channel uses its own locations and its fulfilment locations (an online order collected
    in a store that ships for it). An unknown location is NOT_FOUND; another's is INVALID."""
    if location is None:
        return "NOT_FOUND", f"Unknown location {location_id}."
    if location["channel_id"] != channel["_id"] and location_id not in channel.get(
            "fulfilment_location_ids", ()):
        return "INVALID", f"{location_id} is not a location of {channel['_id']}."
    return None
