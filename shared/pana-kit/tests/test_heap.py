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


def test_settle_collects_then_freezes_only_while_an_app_serves():
    """`settle` (a cache that grew by many long-lived objects): the garbage already unreachable is collected
    first, never frozen; what survives is frozen; outside a serving app it does nothing."""
    import weakref

    from pana_kit import heap

    class Node:
        pass

    gc.unfreeze()
    kept = [Node() for _ in range(100)]
    heap.settle()  # no app serves
    assert gc.get_freeze_count() == 0
    heap.freeze_after_startup()
    try:
        kept += [Node() for _ in range(100)]
        cycle = Node()
        cycle.me = cycle  # unreachable garbage with a cycle: collected, not frozen
        gone = weakref.ref(cycle)
        del cycle
        heap.settle()
        assert gone() is None
        # the survivors are frozen: no longer among the generations a collection walks
        assert gc.get_freeze_count() > 0 and not any(isinstance(o, Node) for o in gc.get_objects())
    finally:
        heap.unfreeze_after_stop()
    assert gc.get_freeze_count() == 0 and sum(isinstance(o, Node) for o in gc.get_objects()) == 200


def test_a_cycle_frozen_while_alive_is_freed_within_reclaim_every_settles(monkeypatch):
    """A cycle alive when `settle` froze it (a request in flight) and dropped afterwards is not walked while
    frozen; the `RECLAIM_EVERY`-th settle unfreezes first, so it is freed then: what settling withholds is
    bounded, in a process that serves for months."""
    import weakref

    from pana_kit import heap

    class Node:
        pass

    monkeypatch.setattr(heap, "RECLAIM_EVERY", 3)
    monkeypatch.setattr(heap, "_settled", 0)
    gc.unfreeze()
    heap.freeze_after_startup()
    try:
        cycle = Node()
        cycle.me = cycle
        gone = weakref.ref(cycle)
        heap.settle()  # 1: frozen while alive
        del cycle
        heap.settle()  # 2: still frozen, not collected
        assert gone() is not None
        heap.settle()  # 3: the reclaim
        assert gone() is None
        assert gc.get_freeze_count() > 0  # and what lives is frozen again
    finally:
        heap.unfreeze_after_stop()
