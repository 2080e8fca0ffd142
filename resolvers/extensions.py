"""Schema extensions: database command counting and the ``extensions.db`` response entry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from gateway.database.monitoring import current_stats


class DatabaseStats(SchemaExtension):
    """Ties the commands an operation sends to its context, and reports them when asked."""

    def on_operation(self) -> Iterator[None]:
        stats = self.execution_context.context.stats
        token = current_stats.set(stats)
        try:
            yield
        finally:
            current_stats.reset(token)

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not context.settings.debug_db_stats:
            return {}
        return {"db": context.stats.as_extension()}
