"""Customer flow: store visits, app sessions, page and livestream views."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from gateway import ids
from gateway.clock import utc
from gateway.context import Info
from gateway.database import activity as repo
from resolvers.activity import Activity, activity_filter, time_key
from resolvers.relay import (
    AfterArgument,
    BeforeArgument,
    Connection,
    FirstArgument,
    LastArgument,
    connection,
    list_tag,
    paging,
)


@strawberry.enum(description="What kind of visit.")
class VisitKind(Enum):
    STORE_VISIT = strawberry.enum_value("STORE_VISIT", description="Someone entered a store.")
    APP_SESSION = strawberry.enum_value("APP_SESSION", description="An app session.")
    PAGE_VIEW = strawberry.enum_value("PAGE_VIEW", description="A product or shop page view.")
    LIVESTREAM_VIEW = strawberry.enum_value("LIVESTREAM_VIEW", description="A livestream watched.")

@strawberry.federation.type(
    keys=[ids.key_of("Visit")],
    description="One visit: customer flow in a channel.",
)
class Visit(Activity):
    id: strawberry.ID = strawberry.field(description="Visit id, prefix vis_.")
    kind: VisitKind = strawberry.field(description="Store visit, app session or view.")
    source: str = strawberry.field(description="Where it came from: walk-in, search, push...")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Visit:
        return cls(
            id=strawberry.ID(doc["_id"]),
            at=utc(doc["at"]),
            channel_id=doc["channel_id"],
            location_id=doc.get("location_id"),
            member_id=doc.get("member_id"),
            kind=VisitKind(doc["kind"]),
            source=doc["source"],
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Visit | None:
        return await load_visit(info, ids.check(id, "vis_"))


async def load_visit(info: Info, visit_id: str | None) -> Visit | None:
    if visit_id is None:
        return None
    doc = await info.context.loaders.visits_by_id.load(visit_id)
    return None if doc is None else Visit.from_doc(doc)

@strawberry.input(description="Narrows a visit list; all fields optional, combined with AND.")
class VisitFilter:
    channels: list[strawberry.ID] | None = strawberry.field(default=None, description="ch_ ids.")
    member: strawberry.ID | None = strawberry.field(default=None, description="One member.")
    location: strawberry.ID | None = strawberry.field(default=None, description="One location.")
    kinds: list[VisitKind] | None = strawberry.field(default=None, description="Visit kinds.")
    since: datetime | None = strawberry.field(default=None, description="At or after.")
    until: datetime | None = strawberry.field(default=None, description="Before.")

@strawberry.type
class VisitQuery:
    @strawberry.field(description="Visits, newest first, a page at a time.")
    async def visits(
        self,
        info: Info,
        filter: Annotated[VisitFilter | None, strawberry.argument(description="Filter.")] = None,
        first: FirstArgument = None,
        after: AfterArgument = None,
        last: LastArgument = None,
        before: BeforeArgument = None,
    ) -> Connection[Visit]:
        f = filter or VisitFilter()
        where = activity_filter(
            channels=f.channels, member=f.member, location=f.location, since=f.since,
            until=f.until, kinds=tuple(k.name for k in f.kinds) if f.kinds is not None else None,
        )
        tag = list_tag("visits", where)
        page = paging(first=first, after=after, last=last, before=before, tag=tag, timed=True)
        docs = await repo.page(
            info.context.db, "visits", scope=info.context.scope, where=where, paging=page
        )
        return connection(docs, page, Visit.from_doc, time_key("at"), tag)

