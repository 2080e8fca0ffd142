"""Finding members by phone, e-mail or name prefix, normalised as
:mod:`gateway.database.contacts` says, over the indexed ``search`` fields of the member
document. Merged members are left out (as in the member list): a merged member is found
through its survivor's own data. An erased member has no ``search`` fields left.

A partner finds only members it may see (holding an identity in one of its channels), masked,
and only by an exact phone or e-mail: a name is masked for a partner, and a prefix search
would spell it out letter by letter (``FORBIDDEN``). A partner's search always sends the same
two commands, the match and the visibility check, whether the number is unknown, another
channel's member's or its own member's: the answer (data, cost, command counts) tells an
unknown number from a hidden member's in no way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from gateway.database import Database
from gateway.database.contacts import MAX_NAME_PREFIX, MIN_NAME_PREFIX, e164, email_key, name_key
from gateway.database.members import seen_by
from gateway.database.query import Doc, Paging, combine, count, find, page_by_id
from gateway.database.scope import Scope
from gateway.errors import BadUserInput, Forbidden

By = Literal["phone", "email", "name"]
# The end of a prefix's range: above every character a name key can hold.
_TOP: Final = "\U0010ffff"


@dataclass(frozen=True)
class MemberSearch:
    """One checked search: which field, and the normalised value."""

    by: By
    value: str

    @classmethod
    def parse(cls, *, phone: str | None, email: str | None, name: str | None,
              scope: Scope) -> MemberSearch:
        given = {k: v for k, v in (("phone", phone), ("email", email), ("name", name))
                 if v is not None}
        if len(given) != 1:
            raise BadUserInput("Give exactly one of `phone`, `email` and `name`.",
                               field="phone")
        (by, value), = given.items()
        if by == "phone":
            normal = e164(value)
            if normal is None:
                raise BadUserInput("`phone` must be a valid number in international form "
                                   "(+86 138 0013 8000).", field="phone")
            return cls("phone", normal)
        if by == "email":
            if not 3 <= len(value) <= 254:
                raise BadUserInput("`email` must be 3 to 254 characters.", field="email")
            return cls("email", email_key(value))
        if not scope.unrestricted:
            raise Forbidden("Searching members by name needs an admin key (names are masked "
                            "for a partner key).", field="name")
        key = name_key(value)
        if not MIN_NAME_PREFIX <= len(key) <= MAX_NAME_PREFIX:
            raise BadUserInput(f"`name` must be {MIN_NAME_PREFIX} to {MAX_NAME_PREFIX} "
                               "characters.", field="name")
        return cls("name", key)

    def query(self) -> Doc:
        match: Doc
        if self.by == "name":
            match = {"search.names": {"$elemMatch": {"$gte": self.value,
                                                     "$lt": self.value + _TOP}}}
        else:
            match = {f"search.{self.by}": self.value}
        return combine({"merged_into": {"$exists": False}}, match)


async def search_page(db: Database, search: MemberSearch, *, scope: Scope,
                      paging: Paging) -> tuple[list[Doc], int | None]:
    """A page of the members found, in id order (in reading order), and, for a partner, how
    many there are in all (an admin's count is :func:`search_count`)."""
    if scope.unrestricted:
        return [seen_by(d, scope) for d in await page_by_id(db["members"], search.query(),
                                                            paging=paging)], None
    found = await find(db["members"], search.query(), sort=[("_id", 1)])
    holders = await find(db["identities"], scope.restrict(
        {"member_id": {"$in": [d["_id"] for d in found]}}), projection={"member_id": 1})
    visible = {d["member_id"] for d in holders}
    docs = [d for d in found if d["_id"] in visible]
    return [seen_by(d, scope) for d in _page(docs, paging)], len(docs)


def _page(docs: list[Doc], paging: Paging) -> list[Doc]:
    """``page_by_id`` over documents in id order, in Python."""
    inside = [d for d in docs
              if (paging.after is None or d["_id"] > paging.after.id)
              and (paging.before is None or d["_id"] < paging.before.id)]
    if paging.backward:
        inside.reverse()
    return inside[:paging.limit]


async def search_count(db: Database, search: MemberSearch) -> int:
    """How many members an admin's search finds (one count)."""
    return await count(db["members"], search.query())
