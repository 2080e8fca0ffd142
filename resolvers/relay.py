"""Relay connections: ``edges { cursor node }`` and ``pageInfo``, with opaque keyset cursors.

A cursor encodes the position of an item (its time and id, or its id), not an offset, so it
stays valid when new items arrive.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar

import orjson
import strawberry

from gateway.cost import MAX_FIRST
from gateway.database.query import Doc, Keyset
from gateway.errors import BadUserInput

T = TypeVar("T")


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more items follow this page.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of this page; pass it as `after` for the next page."
    )


@strawberry.type(description="An item of a list and its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Paging information.")


def check_first(first: int) -> int:
    """``first`` must be between 1 and 100."""
    if not 1 <= first <= MAX_FIRST:
        raise BadUserInput(f"`first` must be between 1 and {MAX_FIRST}, got {first}.",
                           field="first")
    return first


def encode_cursor(key: Keyset) -> str:
    raw = orjson.dumps([key.at.isoformat() if key.at else None, key.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Keyset | None:
    """The keyset a cursor encodes; BAD_USER_INPUT for anything that is not one of ours."""
    if cursor is None:
        return None
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, id_ = orjson.loads(raw)
        if not isinstance(id_, str) or not (at is None or isinstance(at, str)):
            raise ValueError("bad shape")
        return Keyset(id=id_, at=datetime.fromisoformat(at) if at else None)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise BadUserInput(f"Invalid cursor {cursor[:40]!r}.", field="after") from exc


def connection(
    docs: Sequence[Doc],
    first: int,
    make: Callable[[Doc], T],
    key: Callable[[Doc], Keyset],
) -> Connection[T]:
    """Build a connection from up to ``first + 1`` documents (the extra one means 'more')."""
    page = docs[:first]
    edges = [Edge(cursor=encode_cursor(key(d)), node=make(d)) for d in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(docs) > first, end_cursor=edges[-1].cursor if edges else None
        ),
    )
