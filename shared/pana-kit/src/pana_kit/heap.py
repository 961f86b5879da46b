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
_settled = 0  # settles since the last reclaim
#: Every this many settles, everything is unfrozen before the collection (a full pass, as without settling): a
#: cycle frozen while alive and dropped since is freed then, so what settling withholds stays bounded.
RECLAIM_EVERY = 64


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


def settle() -> None:
    """While an app serves: collect what is not frozen, then freeze what survived. For a cache that keeps many
    long-lived objects as the process runs (the duplicate check's normalised records: ~6 tracked objects each,
    up to 262,144 records), called every few thousand entries: the collection walks only what was made since
    the last freeze (10-30 ms for 8,192 records), and the cache is then walked by no later collection. Left to
    the collector, a full collection walked the whole cache, 0.3-0.9 s with the event loop stalled, every few
    hundred cold checks (the p99 of checks at 1,000,000 persons). Entries dropped from the cache are still freed
    by reference counting (they hold no cycle); the collection first means no garbage already unreachable is
    frozen — only a cycle still alive at that moment and dropped later (a request in flight) waits. It waits at most
    `RECLAIM_EVERY` settles: that settle unfreezes first, so its collection is one full pass (the old pause, once
    in ~500,000 records taken in rather than every few hundred checks) and frees such cycles. Outside a serving
    app (tests calling the engine directly) it does nothing."""
    global _settled
    if _serving:
        _settled += 1
        if _settled >= RECLAIM_EVERY:
            _settled = 0
            gc.unfreeze()
        gc.collect()
        gc.freeze()
