"""The garbage collector of a serving process: what start-up built is frozen, so full collections stay short.

A service's start-up leaves ~200,000 objects tracked by the cyclic collector (modules, the app and its routes,
pydantic models, SQLAlchemy's metadata), nearly all alive for the process's life. A full (generation 2)
collection walks every one of them: 120-220 ms on the 2-core bench machine, the event loop stalled meanwhile,
a few times a minute under load; it was the p99 of `GET /verify` (issue 16). `gc.freeze()` once start-up is
done moves them to the permanent generation, which no collection walks; a full collection then walks only what
was made since. Objects are still freed by reference counting; only a cycle among frozen objects waits for the
unfreeze.

Apps are started and stopped many times in one test process: the last app to stop unfreezes (its start-up
objects become collectable again), so tests do not pile up frozen garbage.
"""

from __future__ import annotations

import gc

_serving = 0


def freeze_after_startup() -> None:
    """Freeze every object tracked now (call once start-up is done). No collection first: it would cost a full
    pass at every start (tests start apps by the hundred); start-up's own garbage stays, frozen, a bounded one-off."""
    global _serving
    _serving += 1
    gc.freeze()


def unfreeze_after_stop() -> None:
    """When no app of this process serves any more: the frozen objects are collectable again."""
    global _serving
    _serving = max(0, _serving - 1)
    if _serving == 0:
        gc.unfreeze()
