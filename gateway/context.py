"""The per-request context every resolver receives as ``info.context``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.admission.auth import Principal
from gateway.admission.throttle import Throttle
from gateway.database import Database
from gateway.database.monitoring import CommandStats
from gateway.database.scope import Scope
from gateway.loaders import Loaders
from gateway.settings import Settings


@dataclass
class Context:
    """Database handle, caller scope, fresh loaders and the request's command counter.

    ``principal`` is the caller's key and ``throttle`` the process's cost buckets (both ``None``
    outside an HTTP request).
    """

    db: Database
    settings: Settings
    scope: Scope
    loaders: Loaders
    request: Any = None
    response: Any = None
    stats: CommandStats = field(default_factory=CommandStats)
    principal: Principal | None = None
    throttle: Throttle | None = None
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload


def make_context(
    db: Database, settings: Settings, scope: Scope, *, request: Any = None, response: Any = None,
    principal: Principal | None = None, throttle: Throttle | None = None,
) -> Context:
    return Context(
        db=db,
        settings=settings,
        scope=scope,
        loaders=Loaders(db, scope),
        request=request,
        response=response,
        principal=principal,
        throttle=throttle,
    )


if TYPE_CHECKING:
    import strawberry

    Info = strawberry.Info[Context, None]
else:
    import strawberry

    Info = strawberry.Info
