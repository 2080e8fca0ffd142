"""The free text a client typed about a person's orders and visits, and its erasure.

A clerk or a client's system types text into a few inputs: a refund's reason, a return's
reason and a returned line's write-off reason, a shipment's carrier and tracking number, a
visit's source (and a consent's source, which erasure replaces on its own). Any of them may
hold a name or a phone number, so erasure replaces every such string on the person's
documents with :data:`ERASED_TEXT`. Money, ids, codes, counts and times stay: the books
balance as before. A written-off line keeps a reason (the marker) and a restocked one keeps
none, so what was restocked is still known.

:data:`FREE_TEXT` names, per collection, the paths of those fields (through arrays: a path
``returns.lines.write_off_reason`` is every line of every return). :func:`redactions` turns a
stored document into the ``$set`` of its fields by explicit array index
(``returns.0.lines.1.write_off_reason``), so it changes nothing else on the document and
nothing a concurrent write appends; a field already erased, absent or null is left out, so a
second run writes nothing. Texts the gateway writes itself (:data:`KEPT`) stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from gateway.commerce.settlement import CANCELLED_REASON
from gateway.database.query import Doc

ERASED_TEXT: Final = "erased"
# Per collection, the paths of the free text clients provide (the member's documents: found
# by member id, or by the person's orders for refunds and returns).
FREE_TEXT: Final[dict[str, tuple[str, ...]]] = {
    "orders": ("shipments.carrier", "shipments.tracking_number",
               "returns.lines.write_off_reason"),
    "order_events": ("shipment.carrier", "shipment.tracking_number"),
    "refunds": ("reason", "lines.write_off_reason"),
    "returns": ("reason", "lines.write_off_reason"),
    "visits": ("source",),
}
# Texts the gateway writes itself into those fields (the refund of a cancelled order).
KEPT: Final = frozenset({ERASED_TEXT, CANCELLED_REASON})


def fields(collection: str) -> dict[str, int]:
    """The projection that reads a collection's free text (its top-level fields) and id."""
    return {"_id": 1, **{path.split(".")[0]: 1 for path in FREE_TEXT[collection]}}


def redactions(collection: str, doc: Doc) -> dict[str, str]:
    """The ``$set`` that erases the free text of one stored document (empty: nothing left)."""
    return {at: ERASED_TEXT for path in FREE_TEXT[collection]
            for at, value in _values(doc, path.split("."), "")
            if isinstance(value, str) and value not in KEPT}


def _values(value: Any, path: list[str], at: str) -> Iterator[tuple[str, Any]]:
    """Every value at ``path`` below ``value``, with its full dotted path (array indexes
    included)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _values(item, path, f"{at}{i}.")
    elif not path:
        yield at.rstrip("."), value
    elif isinstance(value, dict) and path[0] in value:
        yield from _values(value[path[0]], path[1:], f"{at}{path[0]}.")
