"""The tables of docs/settings.md, generated from :class:`gateway.settings.Settings`.

Each row is one field: the environment variable that sets it (``OMNIGW_`` and the name in
capitals, or its alias such as ``MONGODB_URI``), its default, the values it accepts (the words
the command line prints for a bad value, :func:`gateway.cli.failures.allowed`) and its
``Field`` description. ``omnigw export-settings`` (``make docs``) rewrites the part of the page
between :data:`BEGIN` and :data:`END`; a test fails when the page and the code differ, as for
``schema.graphql``. The rows are grouped into sections by :data:`SECTIONS`: a setting that is
in no section, or a section naming no setting, stops the generation with its name.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from gateway.cli.failures import allowed, variable
from gateway.settings import Settings

BEGIN = ("<!-- Generated from gateway/settings.py by `omnigw export-settings` (make docs); "
         "edit the Field descriptions there, not this table. -->")
END = "<!-- End of the generated tables. -->"

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Serving and the database", (
        "mongodb_uri", "database", "host", "port", "seeds_dir", "debug_db_stats", "log_level",
        "server_selection_timeout_ms", "connect_timeout_ms", "socket_timeout_ms")),
    ("Deadlines, health and shutdown", (
        "request_timeout_ms", "liveness_stuck_seconds", "graceful_shutdown_seconds")),
    ("Keys and production mode", (
        "production", "key_pepper", "key_cache_ttl_seconds", "auth_failures_per_minute",
        "demo_admin_key", "demo_partner_key")),
    ("Documents, cost and the leaky bucket", (
        "max_body_bytes", "body_timeout_seconds", "batch_requests", "max_json_depth",
        "max_document_length", "max_tokens", "max_depth", "max_aliases", "max_directives",
        "max_string_length", "max_representations", "max_cost", "throttle_bucket_size",
        "throttle_restore_rate", "admission_chars_per_point", "throttle_store")),
    ("Connections and WebSockets", (
        "max_connections", "max_connections_per_client", "header_timeout_seconds",
        "keep_alive_seconds", "ws_init_timeout_seconds", "max_sockets_per_key",
        "max_subscriptions_per_key", "live_max_subscriptions_per_connection")),
    ("Persisted queries", ("persisted_queries_manifest", "apq_cache_size")),
    ("Live updates", ("live_poll_interval_ms", "live_lookback_ms")),
    ("Money and writes", (
        "base_currency", "tier_thresholds", "max_line_quantity", "max_order_total_base",
        "max_stock_adjustment", "max_stock_level", "low_stock_units", "max_import_points",
        "point_value_minor_units",
        "idempotency_lease_seconds", "reservation_timeout_seconds",
        "reservation_sweep_seconds", "pickup_hold_hours")),
    ("Analytics", ("analytics_max_range_days", "analytics_max_buckets", "brand_time_zone")),
    ("Telemetry", ("metrics_key", "metrics_operations", "trace_document")),
)

# Defaults computed when the settings are read: shown in words, not as this machine's value.
COMPUTED_DEFAULTS = {
    "seeds_dir": "`seeds/` of the source tree; installed from a wheel, the copy packaged in it",
}


def variables(name: str, info: FieldInfo) -> str:
    """The environment variables that set the field ``name``, the usual one first."""
    choices = getattr(info.validation_alias, "choices", None)
    names = [str(choice) for choice in choices] if choices else [variable(name)]
    return " or ".join(f"`{n}`" for n in names)


def default(name: str, info: FieldInfo) -> str:
    """The default of the field ``name`` as it would be written in the environment."""
    if info.default_factory is not None or info.default is PydanticUndefined:
        if name not in COMPUTED_DEFAULTS:
            raise ValueError(f"say in COMPUTED_DEFAULTS how the default of {name!r} is computed")
        return COMPUTED_DEFAULTS[name]
    return _shown(info.default)


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    if isinstance(value, dict):
        return f"`{json.dumps(value, separators=(',', ':'))}`"
    if isinstance(value, tuple | list):
        return "none" if not value else f"`{','.join(map(str, value))}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    """``text`` fit for a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def sections(model: type[BaseModel] = Settings) -> list[tuple[str, list[str]]]:
    """The sections with their field names; every field in exactly one."""
    fields = model.model_fields
    placed = [name for _, names in SECTIONS for name in names]
    unknown = sorted(set(placed) - set(fields))
    if unknown:
        raise ValueError(f"SECTIONS names settings that do not exist: {unknown}")
    twice = sorted({name for name in placed if placed.count(name) > 1})
    if twice:
        raise ValueError(f"SECTIONS names settings more than once: {twice}")
    missing = [name for name in fields if name not in placed]
    if missing:
        raise ValueError(f"give these settings a section in SECTIONS: {missing}")
    return [(title, list(names)) for title, names in SECTIONS]


def tables() -> str:
    """The Markdown of every section: a heading and a table of its settings."""
    parts = []
    for title, names in sections():
        rows = ["| variable | default | allowed | meaning |", "| --- | --- | --- | --- |"]
        for name in names:
            info = Settings.model_fields[name]
            if not info.description:
                raise ValueError(f"the setting {name!r} has no description (gateway/settings.py)")
            rows.append("| " + " | ".join(_cell(cell) for cell in (
                variables(name, info), default(name, info), allowed(name), info.description,
            )) + " |")
        parts.append(f"### {title}\n\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


def render(page: str) -> str:
    """``page`` with the text between its markers replaced by :func:`tables`."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the page has no markers {BEGIN!r} ... {END!r}")
    return page[:start + len(BEGIN)] + "\n\n" + tables() + "\n" + page[end:]
