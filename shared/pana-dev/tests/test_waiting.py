"""The test helpers that wait on a condition instead of a fixed time."""

import asyncio

import httpx
import pytest

from pana_dev.testing import eventually, wait_for


def test_wait_for_returns_the_first_truthy_value_and_retries_http_errors():
    answers = iter([httpx.ConnectError("not up yet"), None, [], ["ready"]])
    assert wait_for(lambda: next(answers), timeout=60, interval=0) == ["ready"]


def test_wait_for_fails_with_the_last_value_and_lets_other_errors_through():
    with pytest.raises(AssertionError, match="waiting for nothing; last: 0"):
        wait_for(lambda: 0, timeout=0, what="nothing")

    def broken():
        raise KeyError("bug")

    with pytest.raises(KeyError):
        wait_for(broken, timeout=60)


async def test_eventually_lets_the_loop_run_and_takes_async_probes():
    done = asyncio.Event()
    asyncio.get_running_loop().call_soon(done.set)
    assert await eventually(done.is_set, timeout=60) is True

    async def probe():
        return "async answer"

    assert await eventually(probe) == "async answer"
    with pytest.raises(AssertionError, match="timed out after 0s waiting for never"):
        await eventually(lambda: False, timeout=0, what="never")


def test_a_stack_gives_every_part_its_start_timeout(monkeypatch, tmp_path):
    from pana_dev.stack import HttpProcess, Stack

    seen = []
    monkeypatch.setattr(HttpProcess, "start", lambda self, timeout=60.0: seen.append((self.name, timeout)) or self)
    Stack(var_dir=tmp_path, broker="127.0.0.1:1", start_timeout=240.0).start()  # a given broker, SQLite
    assert len(seen) == 5 and {timeout for _, timeout in seen} == {240.0}
    assert Stack(var_dir=tmp_path).start_timeout == 180.0
