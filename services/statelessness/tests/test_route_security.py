"""Every route of statelessness demands a token and its scope, before it looks anything up."""

from pana_dev.testing import assert_every_route_is_guarded, service_harness
from statelessness.app import create
from statelessness.settings import StatelessnessSettings


async def test_every_route_is_guarded(tmp_path):
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json")) as harness:
        assert await assert_every_route_is_guarded(harness) >= 1
