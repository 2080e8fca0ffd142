"""``omnigw import orders``: send a JSON Lines file of offline orders in batches.

Each line is one ``ImportOrderInput`` (camelCase keys: ``externalId``, ``lines`` of
``{sku, quantity, unitPrice}``, ``currency``, ``placedAt``, optional ``member``, ``identity``,
``paymentMethod``). ``unitPrice`` is a ``Long`` (a string of digits) in GraphQL; in the file it
may also be a JSON integer, which is sent as its digits (Python reads JSON integers exactly).
Batches go through the same GraphQL mutation as every client (``importOrders``, executed
in-process against ``MONGODB_URI``), so every rule applies. The external ids make it
re-runnable: after an interruption, run it again and the rows already imported come back
DUPLICATE.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    problems: list[str] = field(default_factory=list)


def read_rows(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """The file's rows with their line numbers, and the lines that are not JSON objects."""
    rows, problems = [], []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            problems.append(f"line {number}: not a JSON object")
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


async def import_file(
    settings: Settings, path: Path, *, channel: str, location: str | None, batch_size: int,
    advance: Callable[[int], Any] | None = None,
) -> Summary:
    """Send ``path`` in batches of ``batch_size`` rows; ``advance(n)`` after each batch."""
    from resolvers import build_schema

    rows, problems = read_rows(path)
    summary = Summary(problems=problems)
    summary.counts["REJECTED"] += len(problems)
    schema = build_schema()
    db = connect(settings)
    try:
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            result = await schema.execute(
                IMPORT,
                variable_values={"channel": channel, "location": location,
                                 "orders": [row for _, row in batch]},
                context_value=make_context(db, settings, ADMIN),
            )
            if result.errors or result.data is None:
                message = result.errors[0].message if result.errors else "no data"
                raise RuntimeError(f"lines {batch[0][0]}-{batch[-1][0]} refused: {message}")
            payload = result.data["importOrders"]
            if payload["userErrors"]:
                error = payload["userErrors"][0]
                raise RuntimeError(f"{error['code']} {error['field']}: {error['message']}")
            for entry in payload["results"]:
                summary.counts[entry["status"]] += 1
                for error in entry["userErrors"]:
                    number = batch[entry["index"]][0]
                    summary.problems.append(
                        f"line {number} ({entry['externalId']}): {error['code']} "
                        f"{error['field']}: {error['message']}")
            if advance is not None:
                advance(len(batch))
    finally:
        await db.close()
    return summary
