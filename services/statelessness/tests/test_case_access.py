"""A case's evidence, interview records and notes are read by its assigned officer and the officers who decided
it only (issue #15): on main any holder of statelessness:read (the RSD supervisor role too) read any case."""

from datetime import date, timedelta

import pytest
from pana_dev.testing import service_harness
from pana_kit.domain import AccessDenied
from pana_kit.tables import AuditEntry
from sqlalchemy import select
from statelessness.app import create
from statelessness.domain import DeterminationCase, OpeningReason, StatelessnessRules
from statelessness.settings import StatelessnessSettings

TODAY = date.today()


@pytest.fixture
async def svc(tmp_path):
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json")) as harness:
        yield harness


def who(svc, subject, role="statelessness-officer"):
    return svc.headers(role, subject=subject)


def test_readers_are_the_assigned_officer_and_the_deciders():
    case = DeterminationCase.open(case_id="c", person_id="p", reason=OpeningReason.APPLICATION,
                                  opened_on=date(2024, 1, 15), rules=StatelessnessRules(), opened_by="officer-a")
    assert case.readers == {"officer-a"}
    case.check_reader("officer-a")
    with pytest.raises(AccessDenied) as refused:
        case.check_reader("supervisor-dev")
    assert refused.value.rule == "case_reader_not_assigned" and refused.value.status == 403
    case.assign(officer_id="officer-b")
    assert case.readers == {"officer-b"}


async def test_only_the_assigned_officer_and_the_deciders_read_a_case(svc):
    body = {"person_id": "p-1", "birth_date": "1990-05-01", "opened_on": (TODAY - timedelta(days=400)).isoformat()}
    r = await svc.client.post("/api/v1/cases", json=body,
                              headers={**who(svc, "officer-a"), "Idempotency-Key": "access-0000001"})
    assert r.status_code == 201, r.text
    cid, etag = r.json()["id"], r.headers["ETag"]
    r = await svc.client.post(f"/api/v1/cases/{cid}/evidence", headers={**who(svc, "officer-a"), "If-Match": etag},
                              json={"kind": "testimony", "source": "applicant", "weight": "medium",
                                    "brought_by": "applicant", "description": "my father's village records burned"})
    assert r.status_code == 200, r.text
    url = f"/api/v1/cases/{cid}"
    assert (await svc.client.get(url, headers=who(svc, "officer-a"))).status_code == 200
    for refused_to in (who(svc, "supervisor-dev", role="supervisor"), who(svc, "officer-b")):
        r = await svc.client.get(url, headers=refused_to)
        # On main: 200 with the decrypted evidence.
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json", r.text
        assert r.json()["rule"] == "case_reader_not_assigned" and "village" not in r.text
    # The supervisor role cannot take a case to read it (no statelessness:write).
    r = await svc.client.post(f"{url}/assignment", json={"officer_id": "supervisor-dev"},
                              headers=who(svc, "supervisor-dev", role="supervisor"))
    assert r.status_code == 403
    # Given to officer-b (e.g. to hear the appeal), the case moves with it.
    r = await svc.client.post(f"{url}/assignment", json={"officer_id": "officer-b"}, headers=who(svc, "officer-a"))
    assert r.status_code == 200, r.text
    assert (await svc.client.get(url, headers=who(svc, "officer-b"))).status_code == 200
    assert (await svc.client.get(url, headers=who(svc, "officer-a"))).status_code == 403
    async with svc.app.state.db.transaction() as session:
        entries = (await session.execute(select(AuditEntry.subject, AuditEntry.outcome).where(
            AuditEntry.action == "read", AuditEntry.resource == f"case/{cid}").order_by(AuditEntry.seq))).all()
    assert [tuple(e) for e in entries] == [("officer-a", "ok"), ("supervisor-dev", "denied"), ("officer-b", "denied"),
                                           ("officer-b", "ok"), ("officer-a", "denied")]


async def test_the_officer_who_determined_a_case_still_reads_it(svc):
    body = {"person_id": "p-2", "birth_date": "1990-05-01", "opened_on": (TODAY - timedelta(days=400)).isoformat()}
    r = await svc.client.post("/api/v1/cases", json=body,
                              headers={**who(svc, "officer-a"), "Idempotency-Key": "access-0000002"})
    cid, etag = r.json()["id"], r.headers["ETag"]
    for path, step in (("interview", {}), ("determination", {"outcome": "stateless", "reasons": "no State"})):
        r = await svc.client.post(f"/api/v1/cases/{cid}/{path}", json=step,
                                  headers={**who(svc, "officer-a"), "If-Match": etag})
        assert r.status_code == 200, r.text
        etag = r.headers["ETag"]
    r = await svc.client.post(f"/api/v1/cases/{cid}/assignment", json={"officer_id": "officer-c"},
                              headers=who(svc, "officer-a"))
    assert r.status_code == 200
    assert (await svc.client.get(f"/api/v1/cases/{cid}", headers=who(svc, "officer-a"))).status_code == 200
    assert (await svc.client.get(f"/api/v1/cases/{cid}", headers=who(svc, "officer-c"))).status_code == 200
