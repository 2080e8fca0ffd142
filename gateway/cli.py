"""``omnigw``: serve the gateway, load demo data, export the schema."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from gateway import demo_data
from gateway.database import connect, seeding
from gateway.observability import configure_logging
from gateway.settings import PROJECT_ROOT, Settings

app = typer.Typer(help="Omnichannel Gateway: one GraphQL API over every sales channel.",
                  no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: $PORT or 8000).")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Run the gateway with uvicorn (embedded store unless MONGODB_URI is set)."""
    import uvicorn

    settings = Settings()
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
        log_config=None,  # JSON lines from gateway.observability; one access line per request
        access_log=False,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
    )


@app.command()
def seed(
    scale: Annotated[int, typer.Option(min=1, max=1000, help="Multiply members and activity.")] = 1,
) -> None:
    """Load the demo data into MONGODB_URI (idempotent) and ensure the indexes."""
    settings = Settings()
    if settings.mongodb_uri is None:
        typer.echo("MONGODB_URI is not set: nothing to seed (the embedded store seeds itself).",
                   err=True)
        raise typer.Exit(2)
    data = (demo_data.read_seed_files(settings.seeds_dir) if scale == 1
            else demo_data.generate(scale))
    asyncio.run(_load(settings, data))


async def _load(settings: Settings, data: dict[str, list[dict[str, object]]]) -> None:
    db = connect(settings)
    try:
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
    output: Annotated[Path, typer.Option(help="Where to write the SDL.")] = PROJECT_ROOT
    / "schema.graphql",
) -> None:
    """Write the federation SDL (schema.graphql) from the code."""
    output.write_text(schema_sdl())
    typer.echo(f"wrote {output}")


def schema_sdl() -> str:
    """The schema's SDL, as kept in schema.graphql."""
    from resolvers import build_schema

    return build_schema().as_str() + "\n"
