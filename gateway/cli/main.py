"""``omnigw``: serve the gateway, load demo data, import orders, rebuild the member rollups,
export the schema and the table of settings.

A bad setting, an unreachable MongoDB or a path that cannot be read or written ends a command
with one line on stderr and exit status 2 (:mod:`gateway.cli.failures`).
"""

from __future__ import annotations

import asyncio
import os
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any

import typer
from pymongo.errors import PyMongoError
from rich.progress import Progress

from gateway.cli.failures import database_problem, fail, load_for_mongodb, load_or_exit
from gateway.cli.imports import import_app
from gateway.cli.keys import keys_app
from gateway.cli.rollups import rollups_app
from gateway.database import connect, seeding
from gateway.demo import generator
from gateway.settings import Settings
from gateway.telemetry.logs import configure_logging

app = typer.Typer(help="Omnichannel Gateway: one GraphQL API over every sales channel.",
                  no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(import_app, name="import")
app.add_typer(rollups_app, name="rollups")
DISTRIBUTION = "omnichannel-gateway"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"omnigw {package_version(DISTRIBUTION)}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit.",
    )] = False,
) -> None:
    """Omnichannel Gateway: one GraphQL API over every sales channel."""


def check_serving(settings: Settings) -> None:
    """What ``serve`` can check before it starts: the files and directories it will read or
    write (each problem is one line and exit status 2)."""
    from gateway.manifest import Manifest

    if settings.embedded and not settings.seeds_dir.is_dir():
        fail(f"OMNIGW_SEEDS_DIR={str(settings.seeds_dir)!r} is not a directory (the embedded "
             "store loads its data from there)")
    if settings.persisted_queries_manifest is not None:
        try:
            Manifest.read(settings.persisted_queries_manifest)
        except ValueError as exc:
            fail(f"OMNIGW_PERSISTED_QUERIES_MANIFEST: {exc}")
    multiproc = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc and not (Path(multiproc).is_dir() and os.access(multiproc, os.W_OK)):
        fail(f"PROMETHEUS_MULTIPROC_DIR={multiproc!r} is not a writable directory")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: $PORT or 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes.")] = 1,
) -> None:
    """Run the gateway with uvicorn (embedded store unless MONGODB_URI is set)."""
    import uvicorn

    from gateway.web.connections import uvicorn_options

    settings = load_or_exit()
    check_serving(settings)
    configure_logging(settings.log_level)
    address = f"http://{host or settings.host}:{port or settings.port}/graphql"
    typer.echo(f"GraphQL and GraphiQL: {address}")
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=None,  # JSON lines from gateway.telemetry.logs; one access line per request
        access_log=False,
        # in-flight requests get the graceful period less the closing budget (settings.py)
        timeout_graceful_shutdown=settings.shutdown_drain_seconds,
        **uvicorn_options(settings),  # connection limits (gateway/web/connections.py)
    )


@app.command()
def seed(
    scale: Annotated[int, typer.Option(min=1, max=1000, help="Multiply members and activity.")] = 1,
) -> None:
    """Load the demo data into MONGODB_URI (idempotent) and ensure the indexes."""
    settings = load_for_mongodb("nothing to seed (the embedded store seeds itself).")
    data = (seeding.read_seed_files(settings.seeds_dir) if scale == 1
            else generator.generate(scale))
    try:
        asyncio.run(load_with_progress(settings, data))
    except PyMongoError as exc:
        fail(database_problem(settings, exc))


async def load_with_progress(settings: Settings, data: dict[str, list[dict[str, Any]]]) -> None:
    """Load ``data`` into the settings' MongoDB with a progress bar per collection."""
    db = connect(settings)
    try:
        await db.db.command("ping")  # an unreachable database fails before the progress bars
        with Progress() as progress:
            tasks = {name: progress.add_task(name, total=len(docs)) for name, docs in data.items()}
            counts = await seeding.load(
                db, data, progress=lambda name, n: progress.advance(tasks[name], n)
            )
    finally:
        await db.close()
    typer.echo(" ".join(f"{name}={n}" for name, n in counts.items()))


@app.command("export-schema")
def export_schema(
    output: Annotated[Path, typer.Option(
        help="Where to write the SDL (default: schema.graphql in the working directory).",
    )] = Path("schema.graphql"),
) -> None:
    """Write the federation SDL (schema.graphql) from the code."""
    load_or_exit()  # the schema needs no setting, but a bad one is refused by every command
    try:
        output.write_text(schema_sdl(), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write the schema to {output}: {exc.strerror or exc}")
    typer.echo(f"wrote {output}")


def schema_sdl() -> str:
    """The schema's SDL, as kept in schema.graphql."""
    from resolvers.schema import build_schema

    return build_schema().as_str() + "\n"


@app.command("export-settings")
def export_settings(
    output: Annotated[Path, typer.Option(
        help="The page whose generated tables to rewrite (default: docs/settings.md).",
    )] = Path("docs/settings.md"),
) -> None:
    """Rewrite the settings tables of docs/settings.md from the Settings class."""
    from gateway.cli.settings_docs import render

    load_or_exit()  # like export-schema: a bad setting is refused by every command
    try:
        output.write_text(render(output.read_text(encoding="utf-8")), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot rewrite the settings tables of {output}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(f"cannot rewrite the settings tables of {output}: {exc}")
    typer.echo(f"wrote {output}")
