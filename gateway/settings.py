"""One typed settings class, read from the environment (prefix ``OMNIGW_``) and ``.env``.

``MONGODB_URI`` and ``PORT`` are read without the prefix because every platform spells them
that way. Precedence, highest first: values passed to ``Settings(...)``, environment
variables, the ``.env`` file of the working directory (``OMNIGW_ENV_FILE`` names another
file; set it empty to read none), the defaults below. A bad value fails at start-up with the
name of the variable, the value that was refused and the values allowed
(:mod:`gateway.cli.failures` turns that into one line for the command line).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pymongo.errors import PyMongoError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KEY_PATTERN = r"^[A-Za-z0-9._~+/=-]{8,200}$"  # an API key: 8 to 200 of these characters
_OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")


def default_seeds_dir() -> Path:
    """``seeds/`` of a source checkout, or the copy packaged in the wheel (``gateway/seeds``:
    an installed gateway has no checkout)."""
    packaged = Path(__file__).resolve().parent / "seeds"
    return packaged if packaged.is_dir() else PROJECT_ROOT / "seeds"


class Settings(BaseSettings):
    """Everything the gateway can be told, with safe defaults."""

    model_config = SettingsConfigDict(env_prefix="OMNIGW_", extra="ignore", frozen=True,
                                      env_file_encoding="utf-8")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the env file (no file secrets)."""
        env_file = os.environ.get("OMNIGW_ENV_FILE", ".env") or None
        return (init_settings, env_settings,
                DotEnvSettingsSource(settings_cls, env_file=env_file))

    mongodb_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MONGODB_URI", "OMNIGW_MONGODB_URI"),
        description="MongoDB connection string; unset means the embedded in-memory store.",
    )
    database: str = Field(default="omnigw", min_length=1, max_length=63,
                          description="Name of the MongoDB database.")
    host: str = Field(default="127.0.0.1",
                      description="Interface `omnigw serve` binds (`--host` overrides it).")
    port: int = Field(
        default=8000, ge=1, le=65535, validation_alias=AliasChoices("PORT", "OMNIGW_PORT"),
        description="HTTP port of `omnigw serve` (`--port` overrides it).",
    )
    base_currency: str = Field(
        default="CNY", pattern=r"^[A-Z]{3}$",
        description="Currency of base-currency amounts: FX snapshots of orders and payments, "
        "lifetime value, `revenueBase`, tier thresholds and the write ceilings.",
    )
    brand_time_zone: str = Field(
        default="Asia/Shanghai", min_length=1, max_length=64,
        description="IANA time zone of the brand: periods of `repeatPurchaseCohorts` with "
        "`timeZone: BRAND`.",
    )
    seeds_dir: Path = Field(default_factory=default_seeds_dir,
                            description="Where the embedded store loads its data from.")
    debug_db_stats: bool = Field(
        default=False, description="Add `extensions.db` (database commands per request, by "
        "collection) to every response; `make serve` turns it on.",
    )
    server_selection_timeout_ms: int = Field(
        default=1500, ge=100, le=30000,
        description="How long work outside requests (start-up, `omnigw` commands) waits for a "
        "MongoDB server to answer; requests have their own deadline "
        "(`OMNIGW_REQUEST_TIMEOUT_MS`).",
    )
    connect_timeout_ms: int = Field(
        default=1000, ge=100, le=30000,
        description="How long opening a connection to MongoDB may take.",
    )
    socket_timeout_ms: int = Field(
        default=5000, ge=100, le=300000,
        description="How long a MongoDB socket read or write may wait outside a request's "
        "deadline (within one, the deadline decides).",
    )
    analytics_max_range_days: int = Field(
        default=400, ge=1, le=3660, description="Longest window an analytics field accepts."
    )
    analytics_max_buckets: int = Field(
        default=1000, ge=1, le=100_000, description="Most buckets in one analytics series."
    )
    max_representations: int = Field(
        default=100, ge=1, le=10000,
        description="Most entity representations one request may resolve through `_entities`.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="JSON log lines on stderr at this level and above."
    )
    tier_thresholds: dict[str, int] = Field(
        default={"SILVER": 150_000, "GOLD": 500_000, "PLATINUM": 1_000_000},
        description="Lifetime spend (base-currency minor units, cancelled orders excluded) "
        "from which a member holds each tier; below the lowest, `BRONZE`. JSON in the environment.",
    )

    # Ceilings on writes (gateway/commerce/validation.py): beyond them a write is refused with
    # the user error LIMIT_EXCEEDED before anything is written. They keep every stored amount,
    # level and balance far inside 64 bits, and quantities and stock inside GraphQL's Int.
    max_line_quantity: int = Field(
        default=999, ge=1, le=1_000_000,
        description="Most units on one order line (`placeOrder`, `importOrders`).",
    )
    max_order_total_base: int = Field(
        default=100_000_000, ge=1, le=10**12,
        description="Largest order total, and largest single payment, in minor units of the "
        "base currency at the time of the write (default 1,000,000.00).",
    )
    max_stock_adjustment: int = Field(
        default=1_000_000, ge=1, le=100_000_000,
        description="Largest change of on-hand units in one `adjustStock`.",
    )
    max_stock_level: int = Field(
        default=1_000_000_000, ge=1, le=2**31 - 1,
        description="Most on-hand units of one SKU at one location: `adjustStock`, "
        "`receiveTransfer` and `returnOrder` refuse to pass it.",
    )
    low_stock_units: int = Field(
        default=10, ge=0, le=1_000_000_000,
        description="A level is low on stock (`StockLevel.lowStock`, the `lowStock` filter of "
        "`Location.inventory`) when at most this many units are available.",
    )
    max_import_points: int = Field(
        default=10_000, ge=0, le=10**9,
        description="Most points one imported order earns (0: imported orders earn none).",
    )
    point_value_minor_units: int = Field(
        default=1, ge=1, le=10_000,
        description="What one point pays when spent (`redeemPoints`), in minor units of the "
        "base currency: 1 means 100 points pay 1.00 CNY. In another currency the amount is "
        "converted at the order's FX snapshot and rounded down to the minor unit.",
    )

    # Keys, partners and limits (gateway/admission/: auth.py, limits.py, cost.py).
    production: bool = Field(
        default=False,
        description="Production mode: for partner and federation keys no introspection and "
        "error messages that name nothing of the schema; `_service` needs a federation or "
        "admin key; GraphiQL is never prefilled with a key; `/metrics` needs "
        "`OMNIGW_METRICS_KEY`; and `OMNIGW_KEY_PEPPER` is required with `MONGODB_URI`.",
    )
    key_pepper: SecretStr | None = Field(
        default=None, min_length=16, description="Server secret of the HMAC-SHA256 that API "
        "keys are stored as, at least 16 characters; unset, a built-in development pepper "
        "(refused in production mode with `MONGODB_URI`). Changing it invalidates every key.",
    )
    key_cache_ttl_seconds: float = Field(
        default=10.0, ge=0, le=3600, description="How long a key lookup is cached per process "
        "(0: no cache); an open WebSocket re-checks its key this often, at most once a second.",
    )
    demo_admin_key: SecretStr | None = Field(
        default=None, description="Fixed value of the demo admin key the embedded store "
        "creates (random when unset); outside production mode GraphiQL's header editor is "
        "prefilled with the demo admin key.",
    )
    demo_partner_key: SecretStr | None = Field(
        default=None, description="Fixed value of the demo partner key the embedded store "
        "creates for `ch_my_market` and `ch_us_market` (random when unset).",
    )

    # Telemetry (gateway/telemetry/metrics.py, gateway/telemetry/tracing.py).
    metrics_key: SecretStr | None = Field(
        default=None, min_length=16, description="When set (at least 16 characters), "
        "`/metrics` needs `Authorization: Bearer <key>`; "
        "in production mode `/metrics` is off without it.",
    )
    metrics_operations: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="Operation names kept as metric labels, besides those of the "
        "persisted-query manifest (others count as `other`). JSON list or comma-separated.",
    )
    trace_document: bool = Field(
        default=True, description="Put the document, literals stripped, on the operation span "
        "(`graphql.document`).",
    )

    # Document limits, cost and the leaky bucket (gateway/limits.py, gateway/cost.py,
    # gateway/throttle.py).
    max_depth: int = Field(default=10, ge=1, le=100, description="Deepest field nesting.")
    max_aliases: int = Field(default=15, ge=0, le=1000, description="Aliases per document.")
    max_tokens: int = Field(default=2000, ge=10, le=100_000, description="Tokens per document.")
    max_body_bytes: int = Field(
        default=1_000_000, ge=1000, le=100_000_000, description="Largest request body."
    )
    max_string_length: int = Field(
        default=256, ge=16, le=100_000, description="Longest string or id argument value."
    )
    batch_requests: bool = Field(default=False, description="Accept a JSON array of requests.")
    max_cost: int = Field(default=1000, ge=1, le=1_000_000, description="Costliest query.")
    throttle_bucket_size: int = Field(
        default=1000, ge=1, le=10_000_000, description="Points in each key's leaky bucket."
    )
    throttle_restore_rate: float = Field(
        default=100.0, gt=0, le=10_000_000, description="Points per second a bucket regains."
    )
    # Admission (gateway/web/gate.py, gateway/web/connections.py, resolvers/schema/guard.py);
    # docs/security.md.
    max_document_length: int = Field(
        default=32_000, ge=100, le=1_000_000,
        description="Longest GraphQL document, in characters, comments and whitespace included.",
    )
    max_json_depth: int = Field(
        default=32, ge=4, le=512, description="Deepest nesting of a JSON body or parameter."
    )
    max_directives: int = Field(
        default=50, ge=0, le=10_000, description="Directives per document (unknown ones too)."
    )
    admission_chars_per_point: int = Field(
        default=100, ge=1, le=1_000_000,
        description="Every request pays at least one point per this many document characters.",
    )
    throttle_store: Literal["mongodb", "memory"] = Field(
        default="mongodb",
        description="Where the leaky buckets live: in MongoDB, shared by every process, or in "
        "each process's memory (the embedded store always uses memory).",
    )
    body_timeout_seconds: float = Field(
        default=10.0, gt=0, le=600, description="Time a request body has to arrive, whole."
    )
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=600,
        description="Time a connection has to send a request's headers (under `omnigw serve`).",
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, le=600, description="An idle keep-alive connection is closed after this."
    )
    max_connections: int = Field(
        default=2000, ge=10, le=1_000_000,
        description="Connections and requests one process serves at once (503 beyond).",
    )
    max_connections_per_client: int = Field(
        default=64, ge=0, le=100_000,
        description="Open connections (HTTP and WebSocket) per client address; 0: no limit.",
    )
    auth_failures_per_minute: int = Field(
        default=60, ge=1, le=1_000_000,
        description="Failed authentications per client address and minute (a leaky bucket of "
        "that size); beyond, HTTP 429 without a key lookup.",
    )
    ws_init_timeout_seconds: float = Field(
        default=5.0, gt=0, le=600, description="Time a WebSocket has to send `connection_init`."
    )
    max_sockets_per_key: int = Field(
        default=20, ge=1, le=100_000, description="Open WebSockets per key, in each process."
    )
    max_subscriptions_per_key: int = Field(
        default=200, ge=1, le=1_000_000, description="Open operations per key, in each process."
    )
    persisted_queries_manifest: Path | None = Field(
        default=None,
        description="Safelist mode: an Apollo persisted-query manifest; only its operations run.",
    )
    apq_cache_size: int = Field(
        default=1000, ge=1, le=1_000_000,
        description="Automatic persisted queries remembered per process (LRU).",
    )
    live_poll_interval_ms: int = Field(
        default=500, ge=50, le=60_000,
        description="How often the live poller reads each watched collection.",
    )
    live_lookback_ms: int = Field(
        default=2000, ge=0, le=600_000,
        description="How late (after its own time) a write may become visible and still be sent.",
    )
    live_max_subscriptions_per_connection: int = Field(
        default=50, ge=1, le=10_000, description="Open operations allowed per WebSocket."
    )
    graceful_shutdown_seconds: int = Field(
        default=30, ge=1, le=3600,
        description="On SIGTERM the process ends within this: in-flight requests get all of "
        "it but 2 s (half of a shorter period), then they are cut and the rest is for "
        "closing.",
    )

    # Recovery: deadlines, liveness, leases (gateway/deadline.py, gateway/telemetry/watchdog.py,
    # gateway/commerce/idempotency.py, gateway/commerce/reservations.py).
    request_timeout_ms: int = Field(
        default=10_000, ge=100, le=600_000,
        description="Every request's database work ends within this (PyMongo's client-side "
        "operation timeout: selection, checkout, reads, writes and retries share it); past "
        "it the request gets `UNAVAILABLE`. 10 s rides through a replica set election and "
        "fits a 500-row `importOrders`.",
    )
    liveness_stuck_seconds: float = Field(
        default=10.0, ge=1, le=3600,
        description="`/healthz` fails when the watchdog's ping (1 s deadline, every second) "
        "has not come back at all for this long: the database client is stuck.",
    )
    idempotency_lease_seconds: float = Field(
        default=5.0, ge=0.5, le=3600,
        description="An idempotency claim's lease, renewed every third of it while its "
        "holder works; a retry takes over a claim whose lease ran out.",
    )
    reservation_timeout_seconds: float = Field(
        default=60.0, ge=1, le=86_400,
        description="How long a stock reservation waits for its order to be written; then "
        "the sweeper gives the units back if no order was written.",
    )
    pickup_hold_hours: float = Field(
        default=72.0, gt=0, le=24 * 90,
        description="How long an order made ready for pick-up waits in the store "
        "(`preparePickup`); past it, `expirePickup` cancels it and gives the money back.",
    )
    reservation_sweep_seconds: float = Field(
        default=5.0, ge=0.05, le=3600,
        description="How often the sweeper looks for expired reservations.",
    )

    @field_validator("mongodb_uri")
    @classmethod
    def _uri_scheme(cls, value: str | None) -> str | None:
        if value is not None and value.strip() == "":
            return None
        if value is not None and not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("a MongoDB URI starts with mongodb:// or mongodb+srv://")
        if value is not None and value.startswith("mongodb://"):
            # Checked here so that a bad URI stops the start-up with its reason; a
            # mongodb+srv:// URI is resolved in DNS, so it is left to the client.
            from pymongo.uri_parser import parse_uri

            try:
                parse_uri(value, warn=True)
            except (ValueError, PyMongoError) as exc:
                raise ValueError(f"not a valid MongoDB connection string: {exc}") from None
        return value

    @field_validator("brand_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name such as Asia/Shanghai") from None
        return value

    @field_validator("demo_admin_key", "demo_partner_key")
    @classmethod
    def _demo_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(KEY_PATTERN, value.get_secret_value()):
            raise ValueError("a key is 8 to 200 of A-Z a-z 0-9 . _ ~ + / = -")
        return value

    @field_validator("metrics_operations", mode="before")
    @classmethod
    def _operation_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [
                name.strip() for name in text.split(",") if name.strip()]
        return value

    @field_validator("metrics_operations")
    @classmethod
    def _operation_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not _OPERATION_NAME.match(name)]
        if bad:
            raise ValueError(f"operation names are GraphQL names (A-Z a-z 0-9 _), got {bad!r}")
        return value

    @model_validator(mode="after")
    def _pepper_in_production(self) -> Settings:
        if self.production and self.mongodb_uri is not None and self.key_pepper is None:
            raise ValueError(
                "OMNIGW_KEY_PEPPER must be set in production mode with MONGODB_URI "
                "(the built-in development pepper is only for the embedded store)"
            )
        return self

    @field_validator("tier_thresholds")
    @classmethod
    def _tiers(cls, value: dict[str, int]) -> dict[str, int]:
        if set(value) != {"SILVER", "GOLD", "PLATINUM"}:
            raise ValueError(f"tier_thresholds needs SILVER, GOLD and PLATINUM, got {value!r}")
        if not 0 < value["SILVER"] < value["GOLD"] < value["PLATINUM"]:
            raise ValueError(f"tier_thresholds must increase SILVER < GOLD < PLATINUM: {value!r}")
        return value

    @property
    def shutdown_close_seconds(self) -> float:
        """Of the graceful period, how long closing (live feeds, background tasks, the
        database client) may take: what the drain leaves, less half a second for uvicorn
        and the interpreter to stop."""
        return max(0.25, self.graceful_shutdown_seconds - self.shutdown_drain_seconds - 0.5)

    @property
    def shutdown_drain_seconds(self) -> int:
        """Of the graceful period, how long in-flight requests may take (whole seconds, as
        uvicorn takes them)."""
        return int(self.graceful_shutdown_seconds - min(2.0, self.graceful_shutdown_seconds / 2))

    @property
    def embedded(self) -> bool:
        """True when no MongoDB is configured and the in-process store is used."""
        return self.mongodb_uri is None
