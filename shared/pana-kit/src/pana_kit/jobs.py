"""Background jobs that repeat a pass (deadline watchers, coming-of-age certificates, ...).

Written once: a pass runs, its count is logged when non-zero, a failed pass is logged and
retried at the next interval, and cancellation (the service stopping) ends the loop. A pass
must be safe on several instances at once (e.g. `FOR UPDATE SKIP LOCKED` in its query).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable


def periodic(name: str, run_pass: Callable[[Any], Awaitable[int]], *, interval_s: float, log: logging.Logger,
             done: str) -> Callable[[Any], Awaitable[None]]:
    """A `ServiceDefinition.background` job named `name`: `run_pass(app)` every `interval_s` seconds;
    `done` is the log line for a pass that did something (formatted with its count)."""

    async def job(app) -> None:
        while True:
            try:
                count = await run_pass(app)
                if count:
                    log.info(done, count)
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed pass is retried at the next interval
                log.exception("%s: pass failed", name)
            await asyncio.sleep(interval_s)

    job.__name__ = job.__qualname__ = name
    return job
