"""``$dateToString`` with a ``timezone`` on the embedded store, which mongomock lacks.

:func:`aggregate` runs a pipeline on a mongomock collection. When a stage uses
``$dateToString`` with a ``timezone``, the stages before it run in mongomock with the
operator's ``date`` and ``timezone`` expressions added as fields (so any expression mongomock
knows may name the zone); Python formats each date in its zone (``zoneinfo``); the stage and
the rest of the pipeline then run on those documents, the operator replaced by the computed
field. The answers are the ones MongoDB gives for the format specifiers in ``_SPECIFIERS``;
any other specifier raises ``NotImplementedError`` rather than answer differently.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

import mongomock
import mongomock.aggregate

_FIELD: Final = "__omnigw_date"
# MongoDB specifiers whose meaning is the same as Python's strftime.
_SPECIFIERS: Final = frozenset("YmdHMSjGVuz%")
_SPECIFIER = re.compile(r"%(.)")
_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})?$")


def _is_zoned(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("$dateToString"), dict)
        and "timezone" in value["$dateToString"]
    )


def _replace(value: Any, found: list[dict[str, Any]]) -> Any:
    """``value`` with each zoned ``$dateToString`` replaced by a field reference."""
    if _is_zoned(value):
        found.append(value["$dateToString"])
        return f"${_FIELD}_{len(found) - 1}"
    if isinstance(value, dict):
        return {k: _replace(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, found) for v in value]
    return value


def format_date(value: Any, zone: Any, fmt: str) -> str | None:
    """``$dateToString`` of one value: ``None`` for a null date, like MongoDB."""
    if not isinstance(value, datetime):
        return None
    unknown = set(_SPECIFIER.findall(fmt)) - _SPECIFIERS
    if unknown:
        raise NotImplementedError(f"$dateToString {sorted(unknown)} on the embedded store")
    instant = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return instant.astimezone(_zone(str(zone))).strftime(fmt)


def _zone(name: str) -> tzinfo:
    """An Olson name, or a fixed ``+HH:MM``/``-HHMM`` offset as MongoDB also accepts."""
    offset = _OFFSET.match(name)
    if offset is None:
        return ZoneInfo(name)
    sign = -1 if offset["sign"] == "-" else 1
    return timezone(sign * timedelta(hours=int(offset["h"]), minutes=int(offset["m"] or 0)))


def aggregate(
    collection: Any, pipeline: list[dict[str, Any]], **kwargs: Any
) -> list[dict[str, Any]]:
    """Run ``pipeline`` on a mongomock collection, zoned ``$dateToString`` included."""
    source, stages = collection, list(pipeline)
    while True:
        index = next((i for i, stage in enumerate(stages) if _replace(stage, []) != stage), None)
        if index is None:
            return _aggregate(source, stages)
        found: list[dict[str, Any]] = []
        stage = _replace(stages[index], found)
        inputs = {}
        for i, spec in enumerate(found):
            inputs[f"{_FIELD}_d{i}"] = spec["date"]
            inputs[f"{_FIELD}_z{i}"] = spec["timezone"]
        docs = _aggregate(source, [*stages[:index], {"$addFields": inputs}])
        for doc in docs:
            for i, spec in enumerate(found):
                date, zone = doc.pop(f"{_FIELD}_d{i}", None), doc.pop(f"{_FIELD}_z{i}", "UTC")
                doc[f"{_FIELD}_{i}"] = format_date(date, zone, spec["format"])
        source = mongomock.MongoClient(tz_aware=True)["scratch"]["documents"]
        if docs:
            source.insert_many(docs)
        stages = [stage, *stages[index + 1:]]


def _aggregate(collection: Any, stages: list[dict[str, Any]]) -> list[Any]:
    """mongomock's aggregate, with a leading ``$match`` run as a find: mongomock copies every
    document of the collection before the first stage, a find only those that match."""
    if not stages or "$match" not in stages[0]:
        return list(collection.aggregate(stages))
    matched = list(collection.find(stages[0]["$match"]))
    return list(mongomock.aggregate.process_pipeline(  # type: ignore[no-untyped-call]
        matched, collection.database, stages[1:], None))
