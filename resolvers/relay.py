"""Relay connections: ``edges { cursor node }`` and ``pageInfo``, with opaque keyset cursors.

Every connection takes the four arguments of the Relay cursor connections specification:
``first``/``after`` page forward, ``last``/``before`` backward, and they mix as the
specification says: ``after`` and ``before`` may bound one page together, ``first`` reads from
the start of what they leave and ``last`` from its end. ``first`` together with ``last`` is
refused (the specification discourages it: the page it names is rarely what a client meant).
Neither means ``first: 20``.

A cursor encodes the position of an item (its time and id, or its id), not an offset, so it
stays valid when new items arrive. It also carries a short tag of its list (the field, its
parent and its filters): a cursor taken from another list, of this type or another, is
``BAD_USER_INPUT``.

``totalCount`` (a ``Long``) is the size of the whole list, ``after`` and ``before`` aside, on
the connections where one count command answers it: ``MemberConnection`` (``members``,
``searchMembers``, ``Segment.members``), ``ProductConnection`` and ``SegmentConnection``. It
costs a command only when selected. The activity lists (``orders``, ``payments``, ``visits``,
``Member.history``, ``Order.events``) have none: a count there reads every index key of its
range (millions for a busy channel), and the totals people ask for are the analytics fields
(``sales``, ``footfall``), ``channelSummaries`` and an order's ``status``. ``pointsLedger``
has none either: a member's ledger grows by one entry per paid order, and its balance is
``Member.points``. ``campaigns`` and ``Campaign.coupons`` have none yet: a brand runs a page or
two of campaigns, each coupon shows its ``uses``, and a campaign's orders are counted by its
``results``.

``pageInfo`` follows the specification's algorithm: paging forward, ``hasNextPage`` says
whether more items follow (one item more is read to know) and ``hasPreviousPage`` is true
exactly when ``after`` was given (the item it names comes before the page); paging backward,
the mirror image.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
import strawberry

from gateway.admission.cost import DEFAULT_PAGE_SIZE, MAX_FIRST
from gateway.database.query import Doc, Keyset, Paging
from gateway.errors import BadUserInput

T = TypeVar("T")

FirstArgument = Annotated[int | None, strawberry.argument(
    description=f"Page size from the start of the list (after `after`), 1 to {MAX_FIRST}; "
    f"{DEFAULT_PAGE_SIZE} when neither `first` nor `last` is given. Not with `last`."
)]
AfterArgument = Annotated[str | None, strawberry.argument(
    description="Cursor of the item to start after (a page's `endCursor`)."
)]
LastArgument = Annotated[int | None, strawberry.argument(
    description=f"Page size from the end of the list (before `before`), 1 to {MAX_FIRST}: "
    "backward paging. Not with `first`."
)]
BeforeArgument = Annotated[str | None, strawberry.argument(
    description="Cursor of the item to end before (a page's `startCursor`)."
)]


@strawberry.type(description="Where a page sits in its list (Relay cursor connections).")
class PageInfo:
    has_previous_page: bool = strawberry.field(
        description="True when items come before this page: with `last`, when more were "
        "found before it; with `first`, when `after` was given."
    )
    has_next_page: bool = strawberry.field(
        description="True when items follow this page: with `first`, when more were found "
        "after it; with `last`, when `before` was given."
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item of this page; pass it as `before` for the "
        "previous page. Null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of this page; pass it as `after` for the next "
        "page. Null when the page is empty."
    )


@strawberry.type(description="An item of a list and its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item in its list.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Paging information.")


Counter = Callable[[], Awaitable[int]]
TOTAL_COUNT = ("How many items the whole list holds, whatever `first`, `after`, `last` and "
               "`before` (one count command, sent only when this field is selected).")
C = TypeVar("C", bound="Connection[Any]")


def counted(cls: type[C], page: Connection[Any], counter: Counter) -> C:
    """A page as a connection type with ``totalCount``, counted by ``counter`` when asked."""
    return cls(edges=page.edges, page_info=page.page_info, counter=counter)  # type: ignore[call-arg]


def list_tag(*parts: Any) -> str:
    """A short tag naming one list: the field, its parent and its filters."""
    raw = orjson.dumps(parts, default=repr, option=orjson.OPT_NON_STR_KEYS)
    digest = hashlib.blake2b(raw, digest_size=6).digest()
    return base64.urlsafe_b64encode(digest).decode()


def encode_cursor(key: Keyset, tag: str) -> str:
    raw = orjson.dumps([tag, key.at.isoformat() if key.at else None, key.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, tag: str, *, timed: bool, field: str) -> Keyset | None:
    """The keyset a cursor of the list ``tag`` encodes; BAD_USER_INPUT for anything else.

    ``timed`` lists are ordered by time and id, so their cursors carry a time.
    """
    if cursor is None:
        return None
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        own_tag, at, id_ = orjson.loads(raw)
        if not isinstance(id_, str) or not (at is None or isinstance(at, str)):
            raise ValueError("bad shape")
        key = Keyset(id=id_, at=datetime.fromisoformat(at) if at else None)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise BadUserInput(f"Invalid cursor {cursor[:40]!r} in `{field}`.", field=field) from exc
    if own_tag != tag or (key.at is None) == timed:
        raise BadUserInput(f"The cursor in `{field}` belongs to another list: pass a cursor "
                           "of this field, with the same parent and filters.", field=field)
    return key


def _check_size(value: int, name: str) -> int:
    if not 1 <= value <= MAX_FIRST:
        raise BadUserInput(f"`{name}` must be between 1 and {MAX_FIRST}, got {value}.",
                           field=name)
    return value


def paging(
    *, first: int | None, after: str | None, last: int | None, before: str | None,
    tag: str, timed: bool,
) -> Paging:
    """The connection arguments, checked and decoded (see the module's docstring)."""
    if first is not None and last is not None:
        raise BadUserInput("Pass `first` or `last`, not both.", field="last")
    backward = last is not None
    size = _check_size(last, "last") if last is not None else (
        _check_size(first, "first") if first is not None else DEFAULT_PAGE_SIZE
    )
    return Paging(
        size=size,
        backward=backward,
        after=decode_cursor(after, tag, timed=timed, field="after"),
        before=decode_cursor(before, tag, timed=timed, field="before"),
    )


def connection(
    docs: Sequence[Doc],
    page: Paging,
    make: Callable[[Doc], T],
    key: Callable[[Doc], Keyset],
    tag: str,
) -> Connection[T]:
    """Build a connection from up to ``page.limit`` documents in reading order (the extra one
    means 'more in that direction')."""
    return edges_connection([(key(d), make(d)) for d in docs], page, tag)


def edges_connection(
    items: Sequence[tuple[Keyset, T]], page: Paging, tag: str
) -> Connection[T]:
    """Build a connection from up to ``page.limit`` (position, item) pairs in reading order."""
    more = len(items) > page.size
    chosen = list(items[:page.size])
    if page.backward:
        chosen.reverse()
    edges = [Edge(cursor=encode_cursor(k, tag), node=item) for k, item in chosen]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_previous_page=more if page.backward else page.after is not None,
            has_next_page=page.before is not None if page.backward else more,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
