"""Input checks shared by the mutations. Nothing here touches the database.

Ids are checked by :mod:`gateway.ids` (a malformed one is ``BAD_USER_INPUT``, as in a query),
and free text may not contain control characters: no input can carry a MongoDB operator
(``$...``) into a query or an update, because ids are only ever used as values and user text
is never used as a key.

Ceilings (settings, see gateway/settings.py) bound what one write may add: units per order
line, an order's (or a payment's) worth in the base currency, a stock change and a stock
level. Beyond one, the write is refused with ``LIMIT_EXCEEDED`` and a message naming the
setting, so that no single request can push a stored amount, balance or count toward the
limits of its type.
"""

from __future__ import annotations

import re
from typing import Final

from gateway.errors import reject
from gateway.money import to_decimal

MIN_QUANTITY: Final = 1
MAX_LINES: Final = 50
MAX_KEY: Final = 255
MAX_TEXT: Final = 200
_TEXT = re.compile(r"^[^\x00-\x1f]*$")


def idempotency_key(value: str, *, field: str = "idempotencyKey") -> str:
    """1 to 255 printable characters."""
    if not 1 <= len(value) <= MAX_KEY or not _TEXT.match(value):
        raise reject("INVALID", f"{field} must be 1 to {MAX_KEY} printable characters.",
                     field=field)
    return value


def quantity(value: int, *, field: str, ceiling: int) -> int:
    """Units on an order line: at least 1 (INVALID), at most ``ceiling`` (LIMIT_EXCEEDED)."""
    if value < MIN_QUANTITY:
        raise reject("INVALID", f"quantity must be at least {MIN_QUANTITY}, got {value}.",
                     field=field)
    if value > ceiling:
        raise reject("LIMIT_EXCEEDED", f"quantity may be at most {ceiling} per line "
                     f"(OMNIGW_MAX_LINE_QUANTITY), got {value}.", field=field)
    return value


def worth(base_amount: int, *, ceiling: int, base_currency: str, what: str,
          field: str) -> int:
    """An order's or payment's value in base-currency minor units, at most ``ceiling``."""
    if base_amount > ceiling:
        raise reject("LIMIT_EXCEEDED", f"{what} may be worth at most "
                     f"{to_decimal(ceiling, base_currency)} {base_currency} "
                     f"(OMNIGW_MAX_ORDER_TOTAL_BASE); this one is "
                     f"{to_decimal(base_amount, base_currency)} {base_currency}.", field=field)
    return base_amount


def text(value: str, *, field: str, min_length: int = 1, max_length: int = MAX_TEXT) -> str:
    """Free text of bounded length without control characters."""
    if not min_length <= len(value) <= max_length or not _TEXT.match(value):
        raise reject("INVALID", f"{field} must be {min_length} to {max_length} printable "
                     "characters.", field=field)
    return value
