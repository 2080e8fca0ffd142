"""The persisted-query manifest: the deployment's list of the operations clients may send.

``OMNIGW_PERSISTED_QUERIES_MANIFEST`` names a file in Apollo's persisted-query manifest format
(version 1: ``{"format", "version", "operations": [{"id", "body", ...}]}``). The safelist runs
only its operations (:mod:`gateway.web.persisted`), the metrics keep its operation names as
labels (:mod:`gateway.telemetry.metrics`), and ``omnigw serve`` reads it before it starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST_FORMAT = "apollo-persisted-query-manifest"


@dataclass(frozen=True)
class Manifest:
    """The operations of a safelist: body by id, and the set of bodies."""

    by_id: dict[str, str]
    bodies: frozenset[str]

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Load and check a manifest; a bad file fails with its path and the reason."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read persisted-query manifest {path}: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT or raw.get(
            "version"
        ) != 1 or not isinstance(raw.get("operations"), list):
            raise ValueError(
                f"{path} is not an {MANIFEST_FORMAT} version 1 (format, version, operations)"
            )
        by_id: dict[str, str] = {}
        for op in raw["operations"]:
            if not (isinstance(op, dict) and isinstance(op.get("id"), str)
                    and isinstance(op.get("body"), str)):
                raise ValueError(f"{path}: every operation needs a string id and body: {op!r}")
            by_id[op["id"]] = op["body"]
        return cls(by_id=by_id, bodies=frozenset(by_id.values()))
