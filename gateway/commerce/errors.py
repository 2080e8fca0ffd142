"""Expected failures of a write: typed user errors, returned as data in the payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Stable codes of user errors (the GraphQL enum ``UserErrorCode`` mirrors them).
CODES: Final = (
    "NOT_FOUND",
    "INVALID",
    "INSUFFICIENT_STOCK",
    "IDEMPOTENCY_KEY_REUSED",
    "IDEMPOTENCY_KEY_IN_USE",
    "IDENTITY_TAKEN",
    "CURRENCY_MISMATCH",
    "OVERPAYMENT",
    "STOCK_CHANGED",
    "CONFLICT",
    "LIMIT_EXCEEDED",
)


@dataclass(frozen=True)
class UserError:
    """One expected failure: which input field, a stable code and a readable message."""

    field: str | None
    code: str
    message: str


class Rejected(Exception):
    """A write refused for expected reasons; nothing was written (or it was undone)."""

    def __init__(self, *errors: UserError) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


def reject(code: str, message: str, *, field: str | None = None) -> Rejected:
    """A :class:`Rejected` with one user error."""
    return Rejected(UserError(field=field, code=code, message=message))
