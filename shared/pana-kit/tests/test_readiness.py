"""Readiness depends on the database only: a broker outage must not take every pod out of service.

The outbox exists so that commands succeed while the broker is away; a readiness probe that failed with
the broker would have a load balancer (Kubernetes) withdraw every replica and defeat it. The broker's
state is a detail of the answer and the metric `pana_broker_up`.
"""

from pana_dev.testing import service_harness
from rsd.app import create
from rsd.settings import RsdSettings


async def test_ready_without_a_broker_which_shows_as_a_detail_and_a_metric(tmp_path):
    # The harness runs no relay and no consumer, with an unreachable bootstrap: no broker connection at all.
    async with service_harness(create, RsdSettings, tmp_path) as h:
        r = await h.client.get("/readyz")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "ready" and body["checks"] == {"database": "ok"}
        assert body["details"]["broker"] == "unavailable"
        metrics = (await h.client.get("/metrics")).text
        assert 'pana_broker_up{service="rsd"} 0.0' in metrics

        h.app.state.relay.connected = True  # as the relay sets it once it reaches the broker
        r = await h.client.get("/readyz")
        assert r.status_code == 200 and r.json()["details"]["broker"] == "ok"
        assert 'pana_broker_up{service="rsd"} 1.0' in (await h.client.get("/metrics")).text


async def test_not_ready_when_the_database_does_not_answer(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path) as h:
        async def down():
            raise ConnectionError("database down")

        h.app.state.db.ping = down
        r = await h.client.get("/readyz")
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["checks"]["database"].startswith("unavailable")
