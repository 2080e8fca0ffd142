"""One typed settings class, read from the environment (prefix ``OMNIGW_``).

``MONGODB_URI`` and ``PORT`` are read without the prefix because every platform spells them
that way. A bad value fails at start-up with the name of the key and the value that was refused.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything the gateway can be told, with safe defaults."""

    model_config = SettingsConfigDict(env_prefix="OMNIGW_", extra="ignore", frozen=True)

    mongodb_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MONGODB_URI", "OMNIGW_MONGODB_URI"),
        description="MongoDB connection string; unset means the embedded in-memory store.",
    )
    database: str = Field(default="omnigw", min_length=1, max_length=63)
    host: str = "127.0.0.1"
    port: int = Field(
        default=8000, ge=1, le=65535, validation_alias=AliasChoices("PORT", "OMNIGW_PORT")
    )
    base_currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    seeds_dir: Path = PROJECT_ROOT / "seeds"
    debug_db_stats: bool = Field(
        default=False, description="Add extensions.db (database commands) to every response."
    )
    server_selection_timeout_ms: int = Field(default=1500, ge=100, le=30000)
    connect_timeout_ms: int = Field(default=1000, ge=100, le=30000)
    socket_timeout_ms: int = Field(default=5000, ge=100, le=300000)
    max_page_size: int = Field(default=100, ge=1, le=1000)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
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
    demo_admin_key: SecretStr | None = Field(
        default=None,
        description="Development only: GraphiQL's header editor is prefilled with this key.",
    )
    graceful_shutdown_seconds: int = Field(
        default=30, ge=1, le=3600,
        description="On SIGTERM, how long in-flight requests may take before they are cut.",
    )

    @field_validator("mongodb_uri")
    @classmethod
    def _uri_scheme(cls, value: str | None) -> str | None:
        if value is not None and value.strip() == "":
            return None
        if value is not None and not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError(
                f"MONGODB_URI must start with mongodb:// or mongodb+srv://, got {value!r}"
            )
        return value

    @property
    def embedded(self) -> bool:
        """True when no MongoDB is configured and the in-process store is used."""
        return self.mongodb_uri is None
