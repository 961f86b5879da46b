"""Run a coroutine from synchronous code, even when an event loop is already running.

Launchers are synchronous (they block while a server boots), yet they are called
from async pytest fixtures; ``asyncio.run`` refuses to nest, so the coroutine
runs on a private loop in a short-lived thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable, TypeVar

T = TypeVar("T")


def run_sync(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn()`` to completion on a fresh loop in another thread and return its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(fn())
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            box["error"] = e

    t = threading.Thread(target=target, name="pana-infra-sync", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
