"""``omnigw import orders``: send a JSON Lines file of offline orders in batches.

Each line is one ``ImportOrderInput`` (camelCase keys: ``externalId``, ``lines`` of
``{sku, quantity, unitPrice}``, ``currency``, ``placedAt``, optional ``member``, ``identity``,
``paymentMethod``). ``unitPrice`` is a ``Long`` (a string of digits) in GraphQL; in the file it
may also be a JSON integer, which is sent as its digits (Python reads JSON integers exactly).
Batches go through the same GraphQL mutation as every client (``importOrders``, executed
in-process against ``MONGODB_URI``), so every rule applies. The external ids make it
re-runnable: after an interruption, run it again and the rows already imported come back
DUPLICATE. A malformed row is reported with its line number and reason,
and the other rows are imported all the same.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from graphql import GraphQLError, GraphQLInputObjectType, GraphQLInputType
from graphql.utilities import validate_input_value
from pymongo.errors import PyMongoError
from rich.progress import Progress

from gateway.cli.failures import database_problem, fail, load_for_mongodb
from gateway.context import make_context
from gateway.database import connect
from gateway.database.scope import ADMIN
from gateway.settings import Settings

IMPORT = """mutation($channel: ID!, $location: ID, $orders: [ImportOrderInput!]!) {
  importOrders(channel: $channel, location: $location, orders: $orders) {
    results { index externalId status order { id } userErrors { field code message } }
    userErrors { field code message } } }"""


@dataclass
class Summary:
    """Counts per row status, and one line per refused row."""

    counts: Counter[str] = field(default_factory=Counter)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong)

    def reject(self, number: int, reason: str) -> None:
        self.counts["REJECTED"] += 1
        self.refused.append((number, f"line {number}: {reason}"))

    @property
    def problems(self) -> list[str]:
        """One line per refused row, in file order."""
        return [text for _, text in sorted(self.refused)]


class ImportStopped(RuntimeError):
    """A problem of the whole import (the channel, the location, the database), not a row's."""


Row = tuple[int, dict[str, Any]]  # a line number and the JSON object on that line
_STOPPING = frozenset({"UNAVAILABLE", "INTERNAL"})  # not a row's fault: rows cannot fix it


def read_rows(path: Path) -> tuple[list[Row], list[tuple[int, str]]]:
    """The file's rows with their line numbers, and the lines that are not JSON objects."""
    rows: list[Row] = []
    problems: list[tuple[int, str]] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append((number, f"not JSON ({exc.msg})"))
            continue
        if not isinstance(row, dict):
            problems.append((number, "not a JSON object"))
            continue
        rows.append((number, _prices_as_text(row)))
    return rows, problems


def _prices_as_text(row: dict[str, Any]) -> dict[str, Any]:
    """A JSON integer ``unitPrice`` as the digits the ``Long`` scalar takes."""
    lines = row.get("lines")
    if isinstance(lines, list):
        for line in lines:
            price = line.get("unitPrice") if isinstance(line, dict) else None
            if isinstance(price, int) and not isinstance(price, bool):
                line["unitPrice"] = str(price)
    return row


def malformed(row: dict[str, Any], row_type: GraphQLInputType) -> str | None:
    """Why ``row`` is not an ``ImportOrderInput`` (the first reason), or ``None``."""
    reasons: list[str] = []

    def on_error(error: GraphQLError, path: list[str | int]) -> None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        message = error.message.split(", found: ")[0].rstrip(".")  # not the whole row again
        reasons.append(f"BAD_USER_INPUT {where.lstrip('.') or 'row'}: {message}.")

    validate_input_value(row, row_type, on_error)
    return reasons[0] if reasons else None


async def import_file(
    settings: Settings, path: Path, *, channel: str, location: str | None, batch_size: int,
    advance: Callable[[int], Any] | None = None,
) -> Summary:
    """Send ``path`` in batches of ``batch_size`` rows; ``advance(n)`` after each batch.

    A row that is not a JSON object or not an ``ImportOrderInput`` is reported with its line
    and never sent; a batch the gateway refuses as a whole (a row too long for a limit, say)
    is sent again row by row, so only the rows at fault are rejected. Problems that no row
    can fix (the channel, the location, the database) stop the import with
    :class:`ImportStopped`.
    """
    from resolvers.schema import build_schema

    schema = build_schema()
    row_type = schema._schema.get_type("ImportOrderInput")
    assert isinstance(row_type, GraphQLInputObjectType)
    rows, unreadable = read_rows(path)
    summary = Summary()
    for number, unread in unreadable:
        summary.reject(number, unread)
    good: list[Row] = []
    for number, row in rows:
        reason = malformed(row, row_type)
        if reason is None:
            good.append((number, row))
        else:
            summary.reject(number, reason)
    if advance is not None and len(good) < len(rows):
        advance(len(rows) - len(good))
    db = connect(settings)

    async def send(batch: list[Row]) -> None:
        result = await schema.execute(
            IMPORT,
            variable_values={"channel": channel, "location": location,
                             "orders": [row for _, row in batch]},
            context_value=make_context(db, settings, ADMIN),
        )
        if result.errors or result.data is None:
            error = result.errors[0] if result.errors else None
            code = str((error.extensions or {}).get("code", "INTERNAL")) if error else "INTERNAL"
            message = error.message if error is not None else "no data"
            if code in _STOPPING:
                raise ImportStopped(f"lines {batch[0][0]}-{batch[-1][0]}: {code}: {message}")
            if len(batch) == 1:
                summary.reject(batch[0][0], f"{code}: {message}")
            else:
                for one in batch:
                    await send([one])
            return
        payload = result.data["importOrders"]
        if payload["userErrors"]:
            error = payload["userErrors"][0]
            raise ImportStopped(f"{error['code']} {error['field']}: {error['message']}")
        for entry in payload["results"]:
            summary.counts[entry["status"]] += 1
            for error in entry["userErrors"]:
                number = batch[entry["index"]][0]
                where = re.sub(r"^orders\.\d+\.", "", error["field"] or "row")  # the row's own
                summary.refused.append((number, (
                    f"line {number} ({entry['externalId']}): {error['code']} {where}: "
                    f"{error['message']}")))

    try:
        await db.db.command("ping")  # an unreachable database stops the import before a row
        for start in range(0, len(good), batch_size):
            batch = good[start:start + batch_size]
            await send(batch)
            if advance is not None:
                advance(len(batch))
    finally:
        await db.close()
    return summary


import_app = typer.Typer(help="Send data from files.", no_args_is_help=True)


@import_app.command("orders")
def import_orders(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines file.")],
    channel: Annotated[str, typer.Option(help="The channel sold in (ch_ id).")],
    location: Annotated[str | None, typer.Option(help="The store or outlet (loc_ id).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=500, help="Rows per call.")] = 500,
) -> None:
    """Import offline orders (one JSON object per line) into MONGODB_URI; safe to re-run.

    Every malformed row is reported with its line number and reason, and the other rows are
    imported. Exit status: 0 when every row was imported (or had been before), 1 when a row
    was refused, 2 when the import could not run (settings, database, channel, location).
    """
    settings = load_for_mongodb("importing into the embedded store would be lost.")
    try:
        rows, _ = read_rows(file)
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    with Progress() as progress:
        task = progress.add_task(f"importing {file.name}", total=len(rows))
        try:
            summary = asyncio.run(import_file(
                settings, file, channel=channel, location=location, batch_size=batch_size,
                advance=lambda n: progress.advance(task, n)))
        except ImportStopped as exc:
            fail(f"import stopped: {exc}")
        except PyMongoError as exc:
            fail(database_problem(settings, exc))
    for problem in summary.problems:
        typer.echo(problem, err=True)
    typer.echo(" ".join(f"{status.lower()}={summary.counts[status]}"
                        for status in ("CREATED", "DUPLICATE", "REJECTED")))
    if summary.counts["REJECTED"]:
        raise typer.Exit(1)
