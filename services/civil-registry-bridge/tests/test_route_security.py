"""Every route of civil-registry-bridge demands a token and its scope, before it looks anything up."""

from pana_dev.testing import assert_every_route_is_guarded, assert_openapi_declares_scopes, service_harness
from civil_registry_bridge.app import create
from civil_registry_bridge.settings import BridgeSettings


async def test_every_route_is_guarded(tmp_path):
    async with service_harness(create, BridgeSettings, tmp_path) as harness:
        assert await assert_every_route_is_guarded(harness, callback_paths=frozenset({"/api/v1/registry-callbacks/birth-registrations"})) >= 1


async def test_openapi_names_each_operations_scope(tmp_path):
    """Issue #15: OpenAPI declares OAuth2 with a scope per operation, so operators can authorize in /docs."""
    async with service_harness(create, BridgeSettings, tmp_path) as harness:
        assert await assert_openapi_declares_scopes(harness) >= 5
