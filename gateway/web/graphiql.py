"""GraphiQL served by the gateway itself: no CDN, so it works on a closed network.

The assets (GraphiQL, React, the explorer plugin) are bundled from their npm packages by
``graphiql/`` (``npm ci && npm run build``, pinned by its package-lock.json) into
``gateway/web/static/graphiql/``, which is committed. The page opens with a Member 360 example
tab; in development (the embedded store's demo key, or ``OMNIGW_DEMO_ADMIN_KEY``) its header
editor is prefilled with the demo admin key. In production mode the page never holds a key.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from gateway.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = STATIC / "graphiql"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; "
       "frame-ancestors 'none'")

EXAMPLE_MEMBER = "mem_00001"
MEMBER_360 = """# Member 360: one loyalty member across every channel.
# Press the run button (or Ctrl-Enter). The docs pane (book icon) is the manual.
query Member360($id: ID!) {
  member(id: $id) {
    id
    name
    tier
    points
    homeChannel { name kind }
    identities { externalId channel { name kind } }
    lifetimeValue { amount currencyCode }
    channelSummaries {
      channel { name kind currency }
      orderCount
      visitCount
      spend { amount currencyCode }
    }
    history(first: 5) {
      edges {
        node {
          __typename
          at
          channel { name }
          ... on Order { status total { amount currencyCode } }
          ... on Payment { method amount { amount currencyCode } }
          ... on Visit { kind }
        }
      }
    }
  }
}
"""


@cache
def _template() -> str:
    return (STATIC / "graphiql.html").read_text(encoding="utf-8")


def page(settings: Settings, demo_key: str | None = None) -> HTMLResponse:
    """The GraphiQL page, configured for this gateway. In development (the embedded store's
    demo key, or ``OMNIGW_DEMO_ADMIN_KEY``) the header editor holds the demo admin key; in
    production mode, never (the page needs no key to be served)."""
    fixed = settings.demo_admin_key
    key = demo_key or (fixed.get_secret_value() if fixed is not None else None)
    if settings.production:
        key = None
    headers = json.dumps({"Authorization": f"Bearer {key}"}, indent=2) if key else ""
    config = {
        "url": "graphql",
        "headers": headers,
        "tabs": [{"query": MEMBER_360, "variables": json.dumps({"id": EXAMPLE_MEMBER}),
                  "headers": headers}],
    }
    # "</" must not close the <script> element that carries the JSON.
    body = _template().replace("{{CONFIG}}", json.dumps(config).replace("</", "<\\/"))
    return HTMLResponse(body, headers={"Content-Security-Policy": CSP,
                                       "Cache-Control": "no-store"})


def assets() -> StaticFiles:
    """The bundled scripts and styles, mounted at ``/graphiql``."""
    return StaticFiles(directory=ASSETS)
