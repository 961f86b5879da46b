"""A serving process freezes what start-up built (pana_kit.heap): full collections then skip it, and the last
app of the process to stop unfreezes, so a test process does not pile up frozen objects."""

import gc

from pana_dev.testing import service_harness
from rsd.app import create
from rsd.settings import RsdSettings


async def test_startup_objects_are_frozen_while_serving_and_unfrozen_after_the_last_stop(tmp_path):
    gc.unfreeze()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with service_harness(create, RsdSettings, tmp_path / "a") as first:
        assert gc.get_freeze_count() > 0
        async with service_harness(create, RsdSettings, tmp_path / "b"):
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() > 0  # the first app still serves
        assert (await first.client.get("/healthz")).status_code == 200
    assert gc.get_freeze_count() == 0
