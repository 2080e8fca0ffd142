"""Ids are strings with a readable prefix, so that ``node(id:)`` can dispatch on them.

Two kinds of id are made of others: an identity's is ``idn_<channel id>:<external id>`` (the
channel's own account id, as the identity document's ``_id``), a stock level's
``stk_<sku>@<location id>``.

Every id that reaches a query or a write is checked here first: a malformed id is
``BAD_USER_INPUT`` wherever it is given, a query's argument or a mutation's input (a GraphQL
error naming the field, before any database command); a well-formed unknown id is simply not
found (``null`` in a query, the user error ``NOT_FOUND`` in a mutation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from gateway.errors import BadUserInput


@dataclass(frozen=True)
class Entity:
    """A type whose objects have a global id: its GraphQL name, its id prefix, and its
    federation ``@key``: each key field with the prefix its value carries (``None``: a channel's
    own external id). No key: ``node(id:)`` finds it, a router does not."""

    type: str
    prefix: str
    key: tuple[tuple[str, str | None], ...] = ()

    @property
    def key_fields(self) -> str:
        """The ``@key(fields:)`` of the type, e.g. ``"channelId externalId"``."""
        return " ".join(field for field, _ in self.key)


# The one entity table: node(id:) dispatches on it (resolvers.schema.build), _entities checks
# representations by it (resolvers.schema.federation), the types take their @key from it, and
# the Node interface's documentation lists its prefixes.
ENTITIES: Final = (
    Entity("Channel", "ch_", (("id", "ch_"),)),
    Entity("Location", "loc_", (("id", "loc_"),)),
    Entity("Product", "sku_", (("sku", "sku_"),)),
    Entity("Member", "mem_", (("id", "mem_"),)),
    Entity("Order", "ord_", (("id", "ord_"),)),
    Entity("Payment", "pay_", (("id", "pay_"),)),
    Entity("Visit", "vis_", (("id", "vis_"),)),
    Entity("Identity", "idn_", (("channelId", "ch_"), ("externalId", None))),
    Entity("StockLevel", "stk_"),
    Entity("OrderEvent", "oev_"),
    Entity("Refund", "rfd_"),
    Entity("Return", "ret_"),
    Entity("StockMovement", "mov_"),
    Entity("Transfer", "trf_"),
    Entity("Campaign", "cmp_"),
)
BY_TYPE: Final = {entity.type: entity for entity in ENTITIES}
PREFIXES: Final = {entity.prefix: entity.type for entity in ENTITIES}
# Ids made of other ids (identities, stock levels) have their own shapes below; the ids of a
# merge (mrg_), a shipment (shp_, found on its order), a saved segment (seg_), a consent record
# (cns_) and an audit entry (aud_) are well formed like any other but name no node.
_SIMPLE = [e.prefix for e in ENTITIES if e.prefix not in ("idn_", "stk_")] + [
    "mrg_", "shp_", "seg_", "cns_", "aud_"]
_ID = re.compile("^(" + "|".join(p.removesuffix("_") for p in _SIMPLE)
                 + r")_[A-Za-z0-9_.-]{1,64}$")
MAX_EXTERNAL_ID = 128
_EXTERNAL_ID = re.compile(r"^[^\x00-\x1f$]{1,128}$")


def key_of(type_name: str) -> str:
    """The ``@key(fields:)`` of an entity type of :data:`ENTITIES`."""
    return BY_TYPE[type_name].key_fields


def type_of(value: str) -> str:
    """The GraphQL type an id names, or BadUserInput when it names none."""
    if isinstance(value, str) and value.startswith("idn_"):
        identity_parts(value)
        return "Identity"
    if isinstance(value, str) and value.startswith("stk_"):
        stock_parts(value)
        return "StockLevel"
    kind = PREFIXES.get(value.split("_", 1)[0] + "_") if isinstance(value, str) else None
    if kind is None or not _ID.match(value):
        raise BadUserInput(f"Malformed id {value!r}: expected a prefix such as mem_ or ord_.")
    return kind


def identity_id(channel_id: str, external_id: str) -> str:
    """The global id of an identity."""
    return f"idn_{identity_key(channel_id, external_id)}"


def identity_parts(value: str) -> tuple[str, str]:
    """The channel and external id an identity's global id names; BadUserInput if malformed."""
    channel, _, external = value.removeprefix("idn_").partition(":")
    try:
        return check(channel, "ch_"), check_external_id(external)
    except BadUserInput:
        raise BadUserInput(f"Malformed id {value[:80]!r}: expected "
                           "idn_<channel id>:<external id>.") from None


def stock_id(sku: str, location_id: str) -> str:
    """The global id of the stock of a product at a location."""
    return f"stk_{sku}@{location_id}"


def stock_parts(value: str) -> tuple[str, str]:
    """The SKU and location a stock level's global id names; BadUserInput if malformed."""
    sku, _, location = value.removeprefix("stk_").partition("@")
    try:
        return check(sku, "sku_"), check(location, "loc_")
    except BadUserInput:
        raise BadUserInput(f"Malformed id {value[:80]!r}: expected "
                           "stk_<sku>@<location id>.") from None


def check(value: str, prefix: str, *, field: str = "id") -> str:
    """Return ``value`` when it is a well-formed id with ``prefix``; else raise BadUserInput."""
    if not isinstance(value, str) or not _ID.match(value) or not value.startswith(prefix):
        raise BadUserInput(
            f"Malformed {field} {value!r}: expected an id starting with {prefix!r}.", field=field
        )
    return value


def check_many(values: list[str] | None, prefix: str, *, field: str) -> list[str] | None:
    """Validate a list of ids (``None`` stays ``None``)."""
    if values is None:
        return None
    return [check(v, prefix, field=field) for v in values]


def check_external_id(value: str, *, field: str = "externalId") -> str:
    """A channel's own account id: 1 to 128 printable characters, no ``$``."""
    if not isinstance(value, str) or not _EXTERNAL_ID.match(value):
        raise BadUserInput(
            f"Malformed {field}: 1 to {MAX_EXTERNAL_ID} printable characters, no '$'.", field=field
        )
    return value


def identity_key(channel_id: str, external_id: str) -> str:
    """The ``_id`` of an identity document: unique by construction on every engine."""
    return f"{channel_id}:{external_id}"
