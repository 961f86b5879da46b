"""Every route of registration demands a token and its scope, before it looks anything up."""

from pana_dev.testing import assert_every_route_is_guarded, service_harness
from registration.app import create
from registration.settings import RegistrationSettings


async def test_every_route_is_guarded(tmp_path):
    async with service_harness(create, RegistrationSettings, tmp_path) as harness:
        assert await assert_every_route_is_guarded(harness) >= 1
