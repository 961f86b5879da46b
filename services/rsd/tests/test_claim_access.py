"""The claim (narrative, interview records, assessment notes) is read by the assigned officer and the deciding
supervisor only (issue #15): on main any eligibility officer of the office read every claim of the office."""

import pytest
from pana_kit.domain import AccessDenied
from pana_kit.tables import AuditEntry
from rsd.domain.access import check_claim_reader
from sqlalchemy import select

from api_flows import SUPERVISOR, Api, harness

OTHER_OFFICER = dict(role="eligibility-officer", subject="eo-2")


@pytest.fixture
async def api(tmp_path):
    async with harness(tmp_path) as h:
        yield Api(h)


def test_claim_reader_rule():
    assert check_claim_reader(assigned_officer="eo-1", subject="eo-1", scopes=frozenset()) == "assigned_officer"
    assert check_claim_reader(assigned_officer="eo-1", subject="sup-1",
                              scopes=frozenset({"rsd:decide"})) == "deciding_supervisor"
    for assigned in ("eo-1", None):
        with pytest.raises(AccessDenied) as refused:
            check_claim_reader(assigned_officer=assigned, subject="eo-2", scopes=frozenset({"rsd:assess"}))
        assert refused.value.rule == "claim_reader_not_assigned" and refused.value.status == 403


async def claim(api, app_id, who, office="almaty"):
    return await api.h.client.get(f"/api/v1/applications/{app_id}/claim", headers=api.headers(who, office=office))


async def test_only_the_assigned_officer_and_a_deciding_supervisor_read_the_claim(api):
    r = await api.lodge()
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    assert (await claim(api, app_id, dict(role="eligibility-officer", subject="eo-1"))).status_code == 200
    assert (await claim(api, app_id, SUPERVISOR)).status_code == 200
    refused = await claim(api, app_id, OTHER_OFFICER)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["rule"] == "claim_reader_not_assigned" and "detained" not in refused.text
    # Another office's supervisor does not even see the application.
    assert (await claim(api, app_id, SUPERVISOR, office="shymkent")).status_code == 404
    # A reassignment moves the access.
    r = await api.step(app_id, "assignment", {"officer_id": "eo-2", "reason": "workload"}, who=SUPERVISOR)
    assert r.status_code == 200, r.text
    assert (await claim(api, app_id, OTHER_OFFICER)).status_code == 200
    assert (await claim(api, app_id, dict(role="eligibility-officer", subject="eo-1"))).status_code == 403
    async with api.h.app.state.db.transaction() as session:
        entries = (await session.execute(select(AuditEntry.subject, AuditEntry.outcome).where(
            AuditEntry.action == "read-claim").order_by(AuditEntry.seq))).all()
    assert [tuple(e) for e in entries] == [("eo-1", "ok"), ("sup-1", "ok"), ("eo-2", "denied"), ("eo-2", "ok"),
                                           ("eo-1", "denied")]
