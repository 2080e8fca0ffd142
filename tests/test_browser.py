"""GraphiQL in a real browser (Debian's chromium, driven by Playwright), with no internet.

Every request that is not to the gateway is aborted, and the test fails if there was any:
the page must need nothing but the gateway. It runs the example query through the UI and
saves a screenshot (to docs/graphiql.png under ``make docs``, else to a temporary folder, so
that a test run leaves the tree as it was); then a subscription, from the page over its
WebSocket, shows the order a mutation places.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Route, async_playwright

from gateway.admission import keys
from gateway.app import create_app
from tests.support import ROOT, SEEDS, fresh_database, wire_settings
from tests.support.servers import serving

DOCS_SCREENSHOT = ROOT / "docs" / "graphiql.png"
DEMO_KEY = "demo-admin-key-for-the-browser-test"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.fail("the browser test needs Chromium: install the Debian package `chromium` "
                    "(apt-get install -y chromium; `make test` does it when run as root)",
                    pytrace=False)
    return found


async def test_graphiql_runs_the_member_360_example_offline(seeded: str, tmp_path: Path) -> None:
    executable = chromium()
    member = next(m for m in SEEDS["members"] if m["_id"] == "mem_00001")
    settings = wire_settings(seeded, demo_admin_key=DEMO_KEY)
    app = create_app(settings)
    async with serving(app) as base, async_playwright() as playwright:
        # the demo key GraphiQL is prefilled with is a real admin key of this database
        await keys.create_key(app.state.db, settings, name="browser-demo", role="admin",
                              key=DEMO_KEY, replace=True)
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=ARGS,
            viewport={"width": 1440, "height": 900},
        )
        blocked: list[str] = []

        async def only_the_gateway(route: Route) -> None:
            if route.request.url.startswith(base + "/"):
                await route.continue_()
            else:
                blocked.append(route.request.url)
                await route.abort()

        await context.route("**/*", only_the_gateway)
        try:
            page = await context.new_page()
            # given GraphiQL, opened from the gateway
            await page.goto(f"{base}/graphql")
            editor = page.locator(".graphiql-query-editor .CodeMirror-code")
            await editor.get_by_text("query Member360").wait_for(timeout=20_000)
            # then the header editor holds the demo key
            await page.locator(".graphiql-editor-tools button", has_text="Headers").click()
            headers = page.locator(".graphiql-editor-tool .CodeMirror-code").last
            await headers.get_by_text(DEMO_KEY, exact=False).wait_for(timeout=5_000)
            await page.locator(".graphiql-editor-tools button", has_text="Variables").click()
            # when the example query runs through the UI
            await page.locator(".graphiql-execute-button").click()
            # then the result pane shows the member's data
            result = page.locator(".result-window .CodeMirror-code")
            await result.get_by_text(member["name"], exact=False).wait_for(timeout=20_000)
            text = await result.inner_text()
            assert '"id": "mem_00001"' in text
            assert f'"tier": "{member["tier"]}"' in text
            screenshot = (DOCS_SCREENSHOT if os.environ.get("UPDATE_DOCS_SCREENSHOT")
                          else tmp_path / "graphiql.png")
            await page.screenshot(path=str(screenshot))
            assert screenshot.read_bytes().startswith(b"\x89PNG")
        finally:
            await context.close()
    assert blocked == []


SUBSCRIPTION = """subscription FlagshipOrders {
  channelOrders(channel: "ch_flagship") { id status member { id } }
}"""
PLACE_ORDER = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id } userErrors { code } } }"""
# CodeMirror 5 editors of GraphiQL 3: the query, and the visible tool (variables or headers).
SET_EDITOR = "([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text)"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
TOOL_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"


async def test_graphiql_runs_a_subscription_that_shows_a_new_order(
    seeded: str, tmp_path: Path
) -> None:
    executable = chromium()
    settings = await fresh_database(seeded, "omnigw_browser_live")
    app = create_app(settings)
    async with serving(app) as base, async_playwright() as playwright:
        key = await keys.create_key(app.state.db, settings, name="browser-live", role="admin")
        browser = await playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            # given GraphiQL with the key in its headers and a subscription in its editor
            await page.goto(f"{base}/graphql")
            await page.locator(".graphiql-query-editor .CodeMirror-code").get_by_text(
                "query Member360").wait_for(timeout=20_000)
            await page.locator(".graphiql-tab-add").click()  # a tab of its own
            await page.locator(".graphiql-editor-tools button", has_text="Headers").click()
            await page.evaluate(SET_EDITOR, [TOOL_EDITOR, f'{{"Authorization": "Bearer {key}"}}'])
            await page.evaluate(SET_EDITOR, [QUERY_EDITOR, SUBSCRIPTION])
            # when it runs from the page, over the page's WebSocket (graphql-ws)
            # (GraphiQL's fetcher sends a subscription by WebSocket once the tab knows the
            # operation's name; before that it would POST it, which the gateway refuses)
            await page.locator(".graphiql-tab", has_text="FlagshipOrders").wait_for()
            subscribed = asyncio.Event()
            page.on("websocket", lambda socket: socket.on("framesent", lambda frame: (
                subscribed.set() if '"subscribe"' in str(frame) else None)))
            await page.locator(".graphiql-execute-button").click()
            await asyncio.wait_for(subscribed.wait(), 10)
            await page.wait_for_timeout(300)  # the gateway registers the subscription
            # and another client places an order in the channel
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http:
                placed = (await http.post(f"{base}/graphql", json={
                    "query": PLACE_ORDER, "variables": {"input": {
                        "channel": "ch_flagship", "member": "mem_00003",
                        "idempotencyKey": "browser-live-1",
                        "lines": [{"sku": "sku_aloe_body_wash_1l", "quantity": 1}]}}})).json()
            order_id = placed["data"]["placeOrder"]["order"]["id"]
            # then the result pane shows the event
            result = page.locator(".result-window .CodeMirror-code")
            await result.get_by_text(order_id, exact=False).wait_for(timeout=5_000)
            text = await result.inner_text()
            assert '"status": "PLACED"' in text and '"mem_00003"' in text
        finally:
            await browser.close()


async def test_the_page_and_its_assets_come_from_the_gateway(client: httpx.AsyncClient) -> None:
    # given a browser's request for /graphql (no demo key configured)
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    # then it references only the gateway's own assets, and no key
    assert "http://" not in page.text and "https://" not in page.text
    assert '"headers": ""' in page.text and "Member360" in page.text
    for asset in ("graphiql/graphiql.js", "graphiql/graphiql.css"):
        response = await client.get(f"/{asset}")
        assert response.status_code == 200
        assert len(response.content) > 100_000
