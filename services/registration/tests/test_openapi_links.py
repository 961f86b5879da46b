"""Each create links to what can follow it (OpenAPI links), so clients and stateful fuzzing can chain them."""

from pana_dev.testing import assert_links_resolve, service_harness
from registration.app import create
from registration.settings import RegistrationSettings


async def test_creates_link_to_what_follows(tmp_path):
    async with service_harness(create, RegistrationSettings, tmp_path) as harness:
        # five person creates (the group border referral the fifth) x four follow-ups, and a household's read and births
        assert await assert_links_resolve(harness) == 5 * 4 + 2
