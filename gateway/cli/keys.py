"""``omnigw keys``: create, list and revoke API keys in MONGODB_URI's ``api_keys``.

The embedded store lives inside the serving process, so keys are managed there only through
the demo keys that ``make serve`` creates; these commands need MONGODB_URI. A bad setting or
an unreachable MongoDB is one line on stderr and exit status 2.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from pymongo.errors import DuplicateKeyError, PyMongoError

from gateway.admission import keys
from gateway.cli.failures import database_problem, fail, load_for_mongodb
from gateway.database import Database, connect
from gateway.database.indexes import ensure_indexes
from gateway.errors import BadUserInput
from gateway.settings import Settings

keys_app = typer.Typer(help="Create, list and revoke API keys (needs MONGODB_URI).",
                       no_args_is_help=True)
T = TypeVar("T")


def _run(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    settings = load_for_mongodb("keys live in MongoDB (the embedded store makes its own demo "
                                "keys at start).")

    async def main() -> T:
        db = connect(settings)
        try:
            return await work(db, settings)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except PyMongoError as exc:
        fail(database_problem(settings, exc))


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Unique name, e.g. us-market-partner.")],
    role: Annotated[str, typer.Option(help="admin, partner or federation.")],
    channel: Annotated[
        list[str] | None, typer.Option(help="A channel the key may see (repeat for more).")
    ] = None,
) -> None:
    """Create a key and print it once: only its hash is stored."""

    async def work(db: Database, settings: Settings) -> str | None:
        await ensure_indexes(db.db)
        try:
            return await keys.create_key(db, settings, name=name, role=role,
                                         channels=channel or [])
        except DuplicateKeyError:
            return None

    try:
        key = _run(work)
    except BadUserInput as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from exc
    if key is None:
        typer.echo(f"A key named {name!r} exists already.", err=True)
        raise typer.Exit(1)
    typer.echo(key)
    typer.echo("Keep it now: it cannot be shown again. Send it as 'Authorization: Bearer <key>'.",
               err=True)


@keys_app.command("list")
def list_() -> None:
    """Every key: id, name, role, channels, created, revoked (never the key)."""
    rows: list[dict[str, Any]] = _run(lambda db, _settings: keys.list_keys(db))
    typer.echo("id            name                      role        created              "
               "revoked              channels")
    for row in rows:
        revoked = row["revoked_at"].strftime("%Y-%m-%d %H:%M:%S") if row["revoked_at"] else "-"
        typer.echo(f"{row['id']:<13} {row['name']:<25} {row['role']:<11} "
                   f"{row['created_at'].strftime('%Y-%m-%d %H:%M:%S'):<20} {revoked:<20} "
                   f"{_channels(row)}")


def _channels(row: dict[str, Any]) -> str:
    """``*`` only for an admin (every channel); a key bound to none says so."""
    if row["role"] == "admin":
        return "*"
    return ",".join(row["channels"]) or "(none)"


@keys_app.command("revoke")
def revoke(
    name_or_id: Annotated[str, typer.Argument(help="The key's name, or its id (8+ characters).")],
) -> None:
    """Revoke a key: it stops working within the key cache time (10 s by default)."""
    revoked = _run(lambda db, _settings: keys.revoke_key(db, name_or_id))
    if revoked is None:
        typer.echo(f"No valid key named or with id {name_or_id!r}.", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {revoked}")
