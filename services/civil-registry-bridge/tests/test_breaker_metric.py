"""The circuit breaker's state is a metric (issue 17): `pana_circuit_breaker_state{breaker="civil-registry"}` is
2 while the registry is down and the circuit open, 0 once it answers again and the circuit closes."""

from __future__ import annotations

import pytest
from bridge_support import Simulator, birth_recorded, bridge, settled

from pana_dev.testing import eventually

pytestmark = pytest.mark.asyncio

SERIES = 'pana_circuit_breaker_state{breaker="civil-registry",service="civil-registry-bridge"}'


async def breaker_value(h) -> float | None:
    for line in (await h.client.get("/metrics")).text.splitlines():
        if line.startswith(SERIES):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_breaker_state_is_scraped_from_the_bridge(tmp_path):
    sim = Simulator()
    async with bridge(tmp_path, sim) as h:
        assert await breaker_value(h) == 0
        await sim.faults(outage=True)
        events = [birth_recorded() for _ in range(3)]
        for event in events:
            await h.deliver(event, subject=event.child_person_id)

        async def is_open():
            return await breaker_value(h) == 2
        await eventually(is_open, timeout=60, what="the circuit open on /metrics")
        await sim.faults(outage=False)
        for event in events:
            await settled(h, event.child_person_id, timeout=60)

        async def is_closed():
            return await breaker_value(h) == 0
        await eventually(is_closed, timeout=60, what="the circuit closed on /metrics")
