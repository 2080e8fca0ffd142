"""``omnigw rollups``: rebuild the member rollups from the activity collections, or check
that they equal a recomputation (``gateway.database.rollups``). Needs MONGODB_URI (the
embedded store rebuilds them when it loads its seeds).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from pymongo.errors import PyMongoError

from gateway.cli.failures import database_problem, fail, load_for_mongodb
from gateway.database import connect, rollups
from gateway.database.indexes import ensure_indexes

rollups_app = typer.Typer(help="Rebuild or check the member rollups (needs MONGODB_URI).",
                          no_args_is_help=True)
SHOWN = 20  # differences printed at most


@rollups_app.command("rebuild")
def rebuild(
    check: Annotated[bool, typer.Option(
        "--check", help="Change nothing: compare the rollups with a recomputation and exit 1 "
        "if any differs.")] = False,
) -> None:
    """Recompute every member rollup from orders and visits and replace them (run it with
    writes stopped), or with --check compare them."""
    settings = load_for_mongodb("the embedded store rebuilds its rollups when it loads.")

    async def main() -> int:
        db = connect(settings)
        try:
            if not check:
                await ensure_indexes(db.db)
                written = await rollups.rebuild(db)
                typer.echo(f"rebuilt {written} rollups")
                return 0
            found = await rollups.differences(db)
            for difference in found[:SHOWN]:
                typer.echo(f"{difference.rollup_id}: stored {difference.stored} "
                           f"expected {difference.expected}")
            typer.echo(f"{len(found)} rollups differ from a recomputation")
            return 1 if found else 0
        finally:
            await db.close()

    try:
        status = asyncio.run(main())
    except PyMongoError as exc:
        fail(database_problem(settings, exc))
    raise typer.Exit(status)
