"""Every route of statelessness demands a token and its scope, before it looks anything up."""

from pana_dev.testing import assert_every_route_is_guarded, assert_openapi_declares_scopes, service_harness
from statelessness.app import create
from statelessness.settings import StatelessnessSettings


async def test_every_route_is_guarded(tmp_path):
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json")) as harness:
        assert await assert_every_route_is_guarded(harness) >= 1


async def test_openapi_names_each_operations_scope(tmp_path):
    """Issue #15: OpenAPI declares OAuth2 with a scope per operation, so operators can authorize in /docs."""
    async with service_harness(create, StatelessnessSettings, tmp_path) as harness:
        assert await assert_openapi_declares_scopes(harness) >= 5
