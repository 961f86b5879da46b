"""A periodic background job keeps going after a failed pass and stops when cancelled."""

import asyncio
import logging

from pana_kit.jobs import periodic


async def test_a_failed_pass_is_retried_and_cancellation_ends_the_job(caplog):
    passes = []
    enough = asyncio.Event()

    async def run_pass(app) -> int:
        passes.append(app)
        if len(passes) == 1:
            raise RuntimeError("database away")
        if len(passes) == 3:
            enough.set()
        return 2

    job = periodic("watch_things", run_pass, interval_s=0, log=logging.getLogger("test.jobs"), done="did %d things")
    assert job.__name__ == "watch_things"
    with caplog.at_level(logging.INFO, logger="test.jobs"):
        task = asyncio.create_task(job("app"), name=job.__name__)
        await asyncio.wait_for(enough.wait(), 60)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled() and len(passes) >= 3
    assert "watch_things: pass failed" in caplog.text and "did 2 things" in caplog.text
