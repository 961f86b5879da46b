"""The auditor's API on every service (here rsd's app): query with filters and cursors, verify the chain."""

from datetime import datetime, timedelta, timezone

from pana_kit import audit
from pana_kit.auth import Principal
from pana_dev.testing import service_harness
from rsd.app import create
from rsd.settings import RsdSettings
from sqlalchemy import text

OFFICER = Principal(subject="officer-17", client_id="pana-web", roles=("eligibility-officer",), scopes=frozenset())
OTHER = Principal(subject="officer-23", client_id="pana-web", roles=("supervisor",), scopes=frozenset())


async def _seed(harness, n: int = 6) -> None:
    async with harness.app.state.db.transaction() as session:
        for i in range(n):
            who = OFFICER if i % 2 == 0 else OTHER
            await audit.record(session, who, "read" if i % 3 else "decide", f"application/{i:04d}", purpose="case-work",
                               service="rsd")


async def test_auditors_query_with_filters_and_cursor(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path) as h:
        await _seed(h)
        auditor = h.headers("auditor", purpose=None)
        r = await h.client.get("/api/v1/audit", params={"subject": "officer-17", "limit": 2}, headers=auditor)
        assert r.status_code == 200, r.text
        page = r.json()
        assert [e["resource"] for e in page["items"]] == ["application/0004", "application/0002"]  # newest first
        assert {e["subject"] for e in page["items"]} == {"officer-17"}
        assert page["items"][0]["purpose"] == "case-work" and page["items"][0]["role"] == "eligibility-officer"
        r = await h.client.get("/api/v1/audit", params={"subject": "officer-17", "limit": 2, "cursor": page["next_cursor"]},
                               headers=auditor)
        last = r.json()
        assert [e["resource"] for e in last["items"]] == ["application/0000"] and "next_cursor" not in last

        r = await h.client.get("/api/v1/audit", params={"action": "decide"}, headers=auditor)
        assert [e["resource"] for e in r.json()["items"]] == ["application/0003", "application/0000"]
        r = await h.client.get("/api/v1/audit", params={"resource": "application/0005"}, headers=auditor)
        assert [e["seq"] for e in r.json()["items"]] and all(e["resource"] == "application/0005" for e in r.json()["items"])
        r = await h.client.get("/api/v1/audit", params={"resource": "application/*", "limit": 500}, headers=auditor)
        assert len(r.json()["items"]) == 6
        r = await h.client.get("/api/v1/audit", params={"resource": "application_%"}, headers=auditor)  # no wildcards
        assert r.json()["items"] == []

        now = datetime.now(timezone.utc)
        r = await h.client.get("/api/v1/audit", params={"since": (now - timedelta(hours=1)).isoformat(),
                                                        "until": (now + timedelta(hours=1)).isoformat(),
                                                        "action": "read"}, headers=auditor)
        assert len(r.json()["items"]) == 4
        r = await h.client.get("/api/v1/audit", params={"since": (now + timedelta(hours=1)).isoformat()}, headers=auditor)
        assert r.json()["items"] == []

        # The auditors' own queries are in the log too.
        r = await h.client.get("/api/v1/audit", params={"action": "audit.query", "limit": 500}, headers=auditor)
        assert {e["subject"] for e in r.json()["items"]} == {"auditor-dev"} and len(r.json()["items"]) >= 7


async def test_bad_queries_are_problems(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path) as h:
        auditor = h.headers("auditor", purpose=None)
        now = datetime.now(timezone.utc)
        for params, status in (({"cursor": "not-a-cursor"}, 400), ({"cursor": "eyJiZWZvcmUiOiJ4In0"}, 400),
                               ({"limit": 0}, 422), ({"limit": 501}, 422), ({"since": "yesterday"}, 422),
                               ({"since": now.isoformat(), "until": (now - timedelta(days=1)).isoformat()}, 400)):
            r = await h.client.get("/api/v1/audit", params=params, headers=auditor)
            assert r.status_code == status, (params, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")


async def test_only_auditors_may_read_the_log(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path) as h:
        for path in ("/api/v1/audit", "/api/v1/audit/verify"):
            assert (await h.client.get(path)).status_code == 401
            for role in ("supervisor", "eligibility-officer", "registration-officer", "service-provider"):
                r = await h.client.get(path, headers=h.headers(role))
                assert r.status_code == 403, (path, role)
                assert r.headers["content-type"].startswith("application/problem+json")
            # A token for another service is refused even for an auditor.
            r = await h.client.get(path, headers=h.headers("auditor", audience=["registration"]))
            assert r.status_code == 401


async def test_verify_finds_a_tampered_row(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path) as h:
        await _seed(h, 5)
        auditor = h.headers("auditor", purpose=None)
        r = await h.client.get("/api/v1/audit/verify", headers=auditor)
        assert r.status_code == 200, r.text
        intact = r.json()
        assert intact["intact"] is True and intact["entries"] >= 5 and intact["first_broken_seq"] is None
        assert len(intact["head_hash"]) == 64

        async with h.app.state.db.transaction() as session:
            # The database refuses UPDATE and DELETE on the log; an attacker who owns it drops the triggers first.
            for trigger in ("audit_log_no_update", "audit_log_no_delete"):
                await session.execute(text(f"DROP TRIGGER {trigger}"))
            seq = (await session.execute(text("SELECT seq FROM audit_log WHERE resource = 'application/0002'"))).scalar_one()
            await session.execute(text("UPDATE audit_log SET resource = 'application/9999' WHERE seq = :seq"), {"seq": seq})
        r = await h.client.get("/api/v1/audit/verify", headers=auditor)
        broken = r.json()
        assert broken == {**broken, "intact": False, "first_broken_seq": seq}
        assert "changed" in broken["reason"]

        async with h.app.state.db.transaction() as session:  # put it back, then remove a row instead
            await session.execute(text("UPDATE audit_log SET resource = 'application/0002' WHERE seq = :seq"), {"seq": seq})
            await session.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": seq})
        broken = (await h.client.get("/api/v1/audit/verify", headers=auditor)).json()
        assert broken["intact"] is False and broken["first_broken_seq"] == seq + 1 and "removed" in broken["reason"]

        # Verification is itself audited, with its outcome.
        r = await h.client.get("/api/v1/audit", params={"action": "audit.verify"}, headers=auditor)
        assert [e["outcome"] for e in r.json()["items"]][:2] == ["broken", "broken"]


async def test_every_service_gets_the_audit_routes_in_its_openapi(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path) as h:
        doc = (await h.client.get("/openapi.json")).json()
        for path in ("/api/v1/audit", "/api/v1/audit/verify"):
            op = doc["paths"][path]["get"]
            assert op["summary"] and op["description"] and "403" in op["responses"]
