"""What tests share: gateways and their settings (:mod:`~tests.support.gateways`), sending
GraphQL (:mod:`~tests.support.graphql`), servers in their own process
(:mod:`~tests.support.servers`), fault drills (:mod:`~tests.support.faults`), stalled requests
and their takeover (:mod:`~tests.support.takeover`), and the scope
walk's schema walker, world and oracle. Fixtures stay in tests/conftest.py."""

from tests.support.gateways import (
    DATABASE,
    PARTNER_A,
    PARTNER_B,
    ROOT,
    SEEDS,
    TEST_DEFAULTS,
    Callers,
    Gateway,
    WritingGateway,
    admin_client,
    callers_of,
    embedded_settings,
    fresh_database,
    fresh_gateway,
    running_gateway,
    wire_settings,
)
from tests.support.graphql import data, gql, newest_first, page_through
from tests.support.servers import free_port, wait_until_up

__all__ = [
    "DATABASE", "PARTNER_A", "PARTNER_B", "ROOT", "SEEDS", "TEST_DEFAULTS", "Callers", "Gateway",
    "WritingGateway", "admin_client", "callers_of", "data", "embedded_settings", "free_port",
    "fresh_database", "fresh_gateway", "gql", "newest_first", "page_through", "running_gateway",
    "wait_until_up", "wire_settings",
]
