"""Opening a case links to what can follow it (OpenAPI links), so clients and stateful fuzzing can chain them."""

from pana_dev.testing import assert_links_resolve, service_harness
from statelessness.app import create
from statelessness.settings import StatelessnessSettings


async def test_opening_links_to_what_follows(tmp_path):
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json")) as harness:
        assert await assert_links_resolve(harness) == 6
