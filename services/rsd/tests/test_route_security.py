"""Every route of rsd demands a token and its scope, before it looks anything up."""

from pana_dev.testing import assert_every_route_is_guarded, assert_openapi_declares_scopes, service_harness
from rsd.app import create
from rsd.settings import RsdSettings


async def test_every_route_is_guarded(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path) as harness:
        assert await assert_every_route_is_guarded(harness) >= 2


async def test_openapi_names_each_operations_scope(tmp_path):
    """Issue #15: OpenAPI declares OAuth2 with a scope per operation, so operators can authorize in /docs."""
    async with service_harness(create, RsdSettings, tmp_path) as harness:
        assert await assert_openapi_declares_scopes(harness) >= 5
