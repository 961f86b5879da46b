"""A broker not reachable yet at start is INFO for a grace period (services and a restarted Kafka start together
under `pana run`, and the warnings were noise at every second start); past it, or once reached and lost, WARNING."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pana_dev.launchers.ports import free_port
from pana_kit.db import Database
from pana_kit.kafka import BrokerWait
from pana_kit.outbox import OutboxRelay, OutboxSignal
from pana_kit.settings import ServiceSettings
from pana_kit.tables import KIT_METADATA

log = logging.getLogger("test.broker_wait")


def levels(caplog, text: str) -> list[int]:
    return [r.levelno for r in caplog.records if text in r.getMessage()]


async def test_a_first_connection_refused_in_the_grace_period_is_info_and_later_a_warning(caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="test.broker_wait")
    wait = BrokerWait()
    wait.unreachable(log, "starting: %s", "refused")
    wait.reached = True
    wait.unreachable(log, "lost: %s", "refused")
    monkeypatch.setattr(BrokerWait, "grace_s", 0.0)
    BrokerWait().unreachable(log, "late: %s", "refused")
    assert levels(caplog, "starting") == [logging.INFO]
    assert levels(caplog, "lost") == [logging.WARNING]  # a broker reached once and lost is an operator's matter
    assert levels(caplog, "late") == [logging.WARNING]  # still not there after the grace period


@pytest.mark.parametrize("grace, level", [(3600.0, logging.INFO), (0.0, logging.WARNING)])
async def test_the_outbox_relay_waiting_for_its_broker_logs_by_the_grace_period(tmp_path, caplog, monkeypatch,
                                                                                 grace, level):
    """The relay's own connection loop, against a port where nothing listens."""
    from pana_dev.testing import wait_for

    monkeypatch.setattr(BrokerWait, "grace_s", grace)
    caplog.set_level(logging.INFO, logger="pana.outbox")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(KIT_METADATA.create_all)
    settings = ServiceSettings(service_name="rsd", kafka_bootstrap=f"127.0.0.1:{free_port()}")
    relay = OutboxRelay(db, settings, OutboxSignal(), ["rsd.events"])
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.to_thread(wait_for, lambda: levels(caplog, "outbox relay cannot reach the broker"),
                                timeout=60, what="the relay's first refused connection")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await db.dispose()
    assert set(levels(caplog, "outbox relay cannot reach the broker")) == {level}
