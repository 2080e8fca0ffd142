"""Connection limits under uvicorn, below the ASGI application: what the gate cannot see.

- ``max_connections_per_client``: open HTTP connections per client address (the peer of the
  TCP connection: behind a proxy, every client is the proxy, so raise the limit or set 0). A
  connection over the limit is answered 503 and closed before any request is read.
- ``header_timeout_seconds``: a connection must send each request's headers within this time
  (from its first byte, or from the connection's opening); a slow or silent one is closed.
- ``keep_alive_seconds``, ``max_connections`` (uvicorn's ``limit_concurrency``, 503 beyond)
  and ``max_body_bytes`` as WebSocket messages' largest size are uvicorn's own options.

:func:`uvicorn_options` gives them to ``uvicorn.run`` (``omnigw serve``). The protocol is
uvicorn's httptools one, pinned by uv.lock, with three hooks added.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.settings import Settings

_BODY = (b'{"errors":[{"message":"Too many connections from this address (limit '
         b'max_connections_per_client).","extensions":{"code":"THROTTLED"}}]}')
REFUSED = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
           b"connection: close\r\ncontent-length: " + str(len(_BODY)).encode() + b"\r\n\r\n"
           + _BODY)


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a per-client connection cap and a header timeout."""

    settings: ClassVar[Settings | None] = None
    open_per_client: ClassVar[Counter[str]] = Counter()

    @classmethod
    def _settings(cls) -> Settings:
        if cls.settings is None:
            cls.settings = Settings()  # under `uvicorn --http`, as create_app reads them
        return cls.settings

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        settings = self._settings()
        self._counted: str | None = None
        self._header_timer: asyncio.TimerHandle | None = None
        address = self.client[0] if self.client else ""
        cap = settings.max_connections_per_client
        if cap and self.open_per_client[address] >= cap:
            transport.write(REFUSED)
            transport.close()
            return
        self.open_per_client[address] += 1
        self._counted = address
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(
            self._settings().header_timeout_seconds, self._too_slow
        )

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _release(self) -> None:
        self._disarm()
        if self._counted is not None:
            self.open_per_client[self._counted] -= 1
            if self.open_per_client[self._counted] <= 0:
                del self.open_per_client[self._counted]
            self._counted = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def handle_websocket_upgrade(self) -> None:
        self._release()  # the gate counts WebSockets per client from here on
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        super().connection_lost(exc)


def protocol(settings: Settings) -> type[LimitedHttpProtocol]:
    """A protocol class bound to ``settings``, with its own counts (one per server)."""
    return type("BoundHttpProtocol", (LimitedHttpProtocol,),
                {"settings": settings, "open_per_client": Counter()})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that enforce the limits. The protocol class
    travels to worker processes by name and reads the same environment there."""
    LimitedHttpProtocol.settings = settings
    return {
        "http": LimitedHttpProtocol,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": settings.max_connections,
        "ws_max_size": settings.max_body_bytes,
    }
