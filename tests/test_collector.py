"""What start-up built is frozen out of the garbage collector's sight while the app runs (a
full collection then walks what requests made, not the schema and the modules), and given back
to it at shutdown."""

from __future__ import annotations

import gc

from tests.support import embedded_settings, running_gateway


async def test_startup_objects_are_frozen_while_running_and_released_at_shutdown() -> None:
    before = gc.get_freeze_count()
    async for gateway in running_gateway(embedded_settings()):
        # while running: the app, its schema and everything alive at start-up are frozen
        frozen = gc.get_freeze_count()
        assert frozen > before and frozen > len(gc.get_objects()) / 2
        async with gateway.client(await gateway.key("gc-admin", "admin")) as client:
            response = await client.post("/graphql", json={"query": "{ __typename }"})
            assert response.json()["data"] == {"__typename": "Query"}
        assert gc.get_freeze_count() <= frozen  # requests freeze nothing more
    # after shutdown: the collector sees them again (a test process starts many apps)
    assert gc.get_freeze_count() == 0
