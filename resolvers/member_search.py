"""searchMembers: members by phone, e-mail or name prefix (gateway.database.member_search)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gateway.context import Info
from gateway.database import member_search as repo
from resolvers.members import MemberConnection, member_connection
from resolvers.relay import AfterArgument, BeforeArgument, FirstArgument, LastArgument, list_tag
from resolvers.relay import paging as page_of


@strawberry.type
class MemberSearchQuery:
    @strawberry.field(description=(
        "Members found by exactly one of: `phone` (read as E.164, so `+86 138 0013 8000` and "
        "`+8613800138000` are one number), `email` (any case) or `name` (a prefix of the "
        "name or of any of its words, any case, accents ignored; 2 to 100 characters; admin "
        "keys only: FORBIDDEN for a partner key, to whom names are masked). In id order; "
        "merged and erased members are left out. A partner key finds only "
        "members it may see, masked, and an unknown number answers exactly like a number of "
        "a member it may not see."))
    async def search_members(
        self,
        info: Info,
        phone: Annotated[str | None, strawberry.argument(
            description="A phone number in international form.")] = None,
        email: Annotated[str | None, strawberry.argument(
            description="An e-mail address, 3 to 254 characters.")] = None,
        name: Annotated[str | None, strawberry.argument(
            description="The start of the name or of one of its words.")] = None,
        first: FirstArgument = None,
        after: AfterArgument = None,
        last: LastArgument = None,
        before: BeforeArgument = None,
    ) -> MemberConnection:
        db, scope = info.context.db, info.context.scope
        search = repo.MemberSearch.parse(phone=phone, email=email, name=name, scope=scope)
        tag = list_tag("searchMembers", search.by, search.value)
        page = page_of(first=first, after=after, last=last, before=before, tag=tag,
                       timed=False)
        docs, total = await repo.search_page(db, search, scope=scope, paging=page)

        async def counter() -> int:
            return total if total is not None else await repo.search_count(db, search)

        return member_connection(docs, page, tag, counter)
