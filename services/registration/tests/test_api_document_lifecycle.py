"""Renewal, replacement and the stateless person's certificate at 16, in process through the API: at each step
the documents list and verification answer for the old and the new numbers."""

import asyncio
from datetime import date, timedelta

from pana_dev.testing import service_harness
from pana_events.events import rsd
from pana_events.events import statelessness as sl
from pana_kit.domain import add_months
from pana_kit.tables import AuditEntry
from registration import service
from registration.app import create
from registration.settings import RegistrationSettings
from sqlalchemy import select

TODAY = date.today()
BIRTH = "1990-04-12"


async def register(reg, key, birth_date=BIRTH):
    body = {"given_name": "Aziz", "family_name": "Karimov", "birth_date": birth_date, "sex": "male",
            "citizenship": ["AFG"], "override_reason": "test fixture"}
    r = await reg.client.post("/api/v1/persons", json=body,
                              headers={**reg.headers("registration-officer"), "Idempotency-Key": f"key-{key}-0001"})
    assert r.status_code == 201, r.text
    return r.json()["person_id"]


async def documents(reg, pid):
    r = await reg.client.get(f"/api/v1/persons/{pid}/documents", headers=reg.headers("registration-officer"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def verify(reg, number, birth_date=BIRTH):
    r = await reg.client.get(f"/api/v1/verify/{number}", params={"birth_date": birth_date},
                             headers=reg.headers("service-provider", purpose=None))
    assert r.status_code == 200, r.text
    return r.json()


async def post(reg, pid, document_id, action, body=None, key="k-0000001", role="registration-officer"):
    headers = {**reg.headers(role), "Idempotency-Key": key}
    return await reg.client.post(f"/api/v1/persons/{pid}/documents/{document_id}/{action}", json=body,
                                 headers=headers)


async def refugee(reg, key="r1"):
    pid = await register(reg, key)
    await reg.deliver(rsd.CertificateRequested(application_id=f"a-{key}", person_id=pid, member_ids=[pid],
                                               valid_from=TODAY - timedelta(days=30),
                                               valid_until=TODAY + timedelta(days=60), reason="registration"),
                      subject=pid)
    await reg.deliver(rsd.DecisionIssued(application_id=f"a-{key}", person_id=pid, member_ids=[pid],
                                         outcome="recognised", decided_on=TODAY), subject=pid)
    [certificate] = [d for d in await documents(reg, pid) if d["kind"] == "refugee_certificate"]
    return pid, certificate


def problem(r, status, rule=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if rule:
        assert r.json()["rule"] == rule


# --- renewal ----------------------------------------------------------------------------------------------

async def test_renewal_issues_the_next_year_and_marks_the_old_one_replaced(reg):
    pid, old = await refugee(reg)
    r = await post(reg, pid, old["document_id"], "renewal", {"note": "came in before expiry"})
    assert r.status_code == 201, r.text
    body = r.json()
    new = body["issued"]
    assert new["kind"] == "refugee_certificate" and new["number"] != old["number"]
    expected_end = add_months(date.fromisoformat(old["expires_on"]) + timedelta(days=1), 12) - timedelta(days=1)
    assert (new["issued_on"], new["expires_on"]) == (TODAY.isoformat(), expected_end.isoformat())
    assert body["previous"]["number"] == old["number"] and body["stateless_person_certificate"] is None
    # the old one stays valid to its own last day; both answer as listed
    assert (await verify(reg, old["number"]))["result"] == "valid"
    assert (await verify(reg, new["number"]))["expires_on"] == new["expires_on"]
    listed = {d["number"]: d["status"] for d in await documents(reg, pid)}
    assert listed[old["number"]] == listed[new["number"]] == "valid"
    [issued] = [e for e in await reg.published("registration.document.issued.v1")
                if e["data"]["number"] == new["number"]]
    assert issued["data"]["valid_until"] == new["expires_on"]
    # a replay answers the same and issues nothing more; a second renewal of the old one is refused
    again = await post(reg, pid, old["document_id"], "renewal", {"note": "came in before expiry"})
    assert again.status_code == 201 and again.json() == body
    problem(await post(reg, pid, old["document_id"], "renewal", key="k-0000002"), 409, "document_already_replaced")
    assert len(await documents(reg, pid)) == 3  # asylum-seeker (revoked), old and new refugee certificates


async def test_renewal_refused_when_the_procedure_no_longer_backs_the_kind(reg):
    pid, old = await refugee(reg)
    await reg.deliver(rsd.StatusEnded(application_id="a-r1", person_id=pid, member_ids=[pid], ending="cessation",
                                      ground="voluntary_reavailment", ended_on=TODAY), subject=pid)
    assert (await verify(reg, old["number"]))["result"] == "revoked"
    problem(await post(reg, pid, old["document_id"], "renewal"), 409, "renewal_not_backed_by_procedure")
    [asc] = [d for d in await documents(reg, pid) if d["kind"] == "asylum_seeker_certificate"]
    problem(await post(reg, pid, asc["document_id"], "renewal", key="k-0000002"), 409,
            "renewal_not_backed_by_procedure")
    assert len(await documents(reg, pid)) == 2


async def test_asylum_seeker_certificate_renewed_during_an_appeal(reg):
    pid = await register(reg, "as1")
    await reg.deliver(rsd.CertificateRequested(application_id="a-as", person_id=pid, member_ids=[pid],
                                               valid_from=TODAY, valid_until=TODAY + timedelta(days=90),
                                               reason="registration"), subject=pid)
    await reg.deliver(rsd.DecisionIssued(application_id="a-as", person_id=pid, member_ids=[pid], outcome="rejected",
                                         decided_on=TODAY), subject=pid)
    await reg.deliver(rsd.AppealLodged(application_id="a-as", person_id=pid, lodged_on=TODAY),
                      subject=pid)
    [old] = await documents(reg, pid)
    r = await post(reg, pid, old["document_id"], "renewal")
    assert r.status_code == 201, r.text
    new = r.json()["issued"]
    assert new["kind"] == "asylum_seeker_certificate" and new["expires_on"] > old["expires_on"]
    assert (await verify(reg, new["number"]))["result"] == "valid"
    await reg.deliver(rsd.AppealDecided(application_id="a-as", person_id=pid, member_ids=[pid], outcome="dismissed",
                                        result="rejected", decided_on=TODAY), subject=pid)
    assert (await verify(reg, new["number"]))["result"] == "revoked"
    assert "revocation_reason" not in await verify(reg, new["number"])  # the claim's outcome is not told


# --- replacement ------------------------------------------------------------------------------------------

async def test_replacing_a_lost_certificate_revokes_the_old_number_with_the_reason(reg):
    pid, old = await refugee(reg)
    r = await post(reg, pid, old["document_id"], "replacement", {"reason": "lost", "note": "lost on the bus"})
    assert r.status_code == 201, r.text
    new, previous = r.json()["issued"], r.json()["previous"]
    assert new["expires_on"] == old["expires_on"] and new["issued_on"] == TODAY.isoformat()
    assert previous["status"] == "revoked"
    old_answer = await verify(reg, old["number"])
    assert (old_answer["result"], old_answer["revocation_reason"]) == ("revoked", "lost")
    new_answer = await verify(reg, new["number"])
    assert new_answer["result"] == "valid" and "revocation_reason" not in new_answer
    listed = {d["number"]: d["status"] for d in await documents(reg, pid)}
    assert (listed[old["number"]], listed[new["number"]]) == ("revoked", "valid")
    revoked = [e for e in await reg.published() if e["type"].startswith("registration.document.")][-2:]
    assert [(e["type"], e["data"].get("number")) for e in revoked] == [
        ("registration.document.revoked.v1", None), ("registration.document.issued.v1", new["number"])]
    assert revoked[0]["data"]["document_id"] == old["document_id"] and revoked[0]["data"]["reason"] == "lost"
    # the revoked number cannot be replaced or renewed again; the new one can be replaced
    problem(await post(reg, pid, old["document_id"], "replacement", {"reason": "stolen"}, key="k-0000002"), 409,
            "document_revoked")
    problem(await post(reg, pid, old["document_id"], "renewal", key="k-0000003"), 409, "document_revoked")
    r = await post(reg, pid, new["document_id"], "replacement", {"reason": "stolen"}, key="k-0000004")
    assert r.status_code == 201, r.text
    assert (await verify(reg, new["number"]))["revocation_reason"] == "stolen"
    assert (await verify(reg, r.json()["issued"]["number"]))["result"] == "valid"
    async with reg.app.state.db.session() as session:
        entries = (await session.execute(select(AuditEntry).where(AuditEntry.action == "replace-document"))).scalars()
        assert [e.resource for e in entries] == [f"document/{old['document_id']}", f"document/{new['document_id']}"]


async def test_bad_requests_are_problems(reg):
    pid, old = await refugee(reg)
    problem(await post(reg, pid, old["document_id"], "replacement", {"reason": "sold"}), 422)
    problem(await post(reg, pid, "no-such-document", "replacement", {"reason": "lost"}, key="k-0000002"), 404)
    other = await register(reg, "other")
    problem(await post(reg, other, old["document_id"], "renewal", key="k-0000003"), 404)
    problem(await post(reg, pid, old["document_id"], "renewal", role="service-provider", key="k-0000004"), 403)
    r = await reg.client.post(f"/api/v1/persons/{pid}/documents/{old['document_id']}/renewal",
                              headers=reg.headers("registration-officer"))
    assert 400 <= r.status_code < 500
    assert (await verify(reg, old["number"]))["result"] == "valid"  # nothing changed


# --- the stateless person's certificate at 16 -------------------------------------------------------------

async def test_a_recognised_stateless_child_gets_the_certificate_at_sixteen(reg):
    sixteenth = TODAY + timedelta(days=10)
    birth = add_months(sixteenth, -12 * 16)
    child = await register(reg, "child", birth_date=birth.isoformat())
    adult = await register(reg, "adult")
    for pid in (child, adult):
        await reg.deliver(sl.StatelessnessDetermined(case_id=f"c-{pid}", person_id=pid, outcome="stateless",
                                                     decided_on=TODAY), subject=pid)
    assert await documents(reg, child) == []  # none before 16
    [adults] = await documents(reg, adult)  # issued on determination
    rules = reg.app.state.rules
    assert await service.issue_due_stateless_certificates(reg.app.state, sixteenth - timedelta(days=1), rules) == 0
    assert await service.issue_due_stateless_certificates(reg.app.state, sixteenth, rules, batch=1) == 1
    [certificate] = await documents(reg, child)
    assert (certificate["kind"], certificate["issued_on"]) == ("stateless_person_certificate", sixteenth.isoformat())
    answer = await verify(reg, certificate["number"], birth_date=birth.isoformat())
    assert (answer["result"], answer["status_category"]) == ("valid", "stateless")
    # once only, however often the pass runs; the adult's certificate is left alone
    assert await service.issue_due_stateless_certificates(reg.app.state, sixteenth + timedelta(days=1), rules) == 0
    assert await documents(reg, adult) == [adults] and len(await documents(reg, child)) == 1
    issued = [e for e in await reg.published("registration.document.issued.v1") if e["subject"] == child]
    assert len(issued) == 1


async def test_no_certificate_at_sixteen_after_naturalization_or_without_a_determination(reg):
    birth = add_months(TODAY, -12 * 16).isoformat()
    naturalized = await register(reg, "nat", birth_date=birth)
    lodged = await register(reg, "lodged", birth_date=birth)
    await reg.deliver(sl.StatelessnessDetermined(case_id="c-n", person_id=naturalized, outcome="stateless",
                                                 decided_on=TODAY - timedelta(days=400)), subject=naturalized)
    await reg.deliver(sl.NaturalizationDecided(person_id=naturalized, outcome="granted", decided_on=TODAY,
                                               track_id="t-1"), subject=naturalized)
    await reg.deliver(sl.CaseOpened(case_id="c-l", person_id=lodged, reason="application", ex_officio=False,
                                    opened_on=TODAY), subject=lodged)
    assert await service.issue_due_stateless_certificates(reg.app.state, TODAY, reg.app.state.rules) == 0
    # no stateless person's certificate without a determination; an applicant holds the procedure's lawful-stay
    # paper only (issue 13: documents during the statelessness procedure; this read [] before)
    assert await documents(reg, naturalized) == []
    assert [d["kind"] for d in await documents(reg, lodged)] == ["statelessness_procedure_certificate"]


async def test_a_renewal_also_issues_the_stateless_certificate_that_came_due(reg):
    """A stateless refugee who turned 16: renewing the refugee certificate issues the stateless one too."""
    birth = add_months(TODAY, -12 * 16) - timedelta(days=1)
    pid = await register(reg, "both", birth_date=birth.isoformat())
    await reg.deliver(sl.StatelessnessDetermined(case_id="c-b", person_id=pid, outcome="stateless",
                                                 decided_on=TODAY - timedelta(days=400)), subject=pid)
    await reg.deliver(rsd.DecisionIssued(application_id="a-b", person_id=pid, member_ids=[pid],
                                         outcome="recognised", decided_on=TODAY - timedelta(days=300)), subject=pid)
    [certificate] = await documents(reg, pid)
    r = await post(reg, pid, certificate["document_id"], "renewal")
    assert r.status_code == 201, r.text
    extra = r.json()["stateless_person_certificate"]
    assert extra["kind"] == "stateless_person_certificate" and extra["issued_on"] == TODAY.isoformat()
    assert (await verify(reg, extra["number"], birth_date=birth.isoformat()))["result"] == "valid"
    assert await service.issue_due_stateless_certificates(reg.app.state, TODAY, reg.app.state.rules) == 0


async def test_a_certificate_request_for_a_stateless_person_of_age_issues_the_missing_certificate(reg):
    """rsd's certificate request for a recognised stateless person over 16 who holds no stateless certificate
    (found stateless as a child): the asylum-seeker certificate and the stateless one."""
    birth = add_months(TODAY, -12 * 17)
    pid = await register(reg, "req", birth_date=birth.isoformat())
    await reg.deliver(sl.StatelessnessDetermined(case_id="c-q", person_id=pid, outcome="stateless",
                                                 decided_on=TODAY - timedelta(days=400)), subject=pid)
    assert await documents(reg, pid) == []
    await reg.deliver(rsd.CertificateRequested(application_id="a-q", person_id=pid, member_ids=[pid], valid_from=TODAY,
                                               valid_until=TODAY + timedelta(days=90), reason="registration"),
                      subject=pid)
    kinds = sorted(d["kind"] for d in await documents(reg, pid) if d["status"] == "valid")
    assert kinds == ["asylum_seeker_certificate", "stateless_person_certificate"]


# --- documented -------------------------------------------------------------------------------------------

async def test_the_daily_pass_runs_as_a_background_job_unless_turned_off(tmp_path):
    def passes():
        return [t for t in asyncio.all_tasks() if t.get_name() == "issue_stateless_certificates" and not t.done()]
    (tmp_path / "on").mkdir(), (tmp_path / "off").mkdir()
    async with service_harness(create, RegistrationSettings, tmp_path / "on",
                               signing_key_path=str(tmp_path / "signing.pem")):
        assert len(passes()) == 1
    async with service_harness(create, RegistrationSettings, tmp_path / "off",
                               signing_key_path=str(tmp_path / "signing.pem"),
                               stateless_certificate_watch_enabled=False):
        assert passes() == []


async def test_documented_in_openapi(reg):
    spec = (await reg.client.get("/openapi.json")).json()
    for action in ("renewal", "replacement"):
        op = spec["paths"][f"/api/v1/persons/{{person_id}}/documents/{{document_id}}/{action}"]["post"]
        assert op["summary"] and op["description"]
        assert {"201", "401", "403", "404", "409", "422"} <= set(op["responses"])
        assert any(p["name"] == "Idempotency-Key" for p in op["parameters"])
    assert "revocation_reason" in spec["components"]["schemas"]["VerificationOut"]["properties"]


async def test_on_postgresql_a_replaced_number_stops_verifying_with_the_next_check(tmp_path):
    """On PostgreSQL a verification reads the projection on a connection of its own (`Database.held`), not the
    pool, and caches nothing: the check right after the replacement's commit answers revoked."""
    from pana_dev.testing import module_postgres

    with module_postgres("registration-verify") as pg:
        pg.create_database("reg")
        async with service_harness(create, RegistrationSettings, tmp_path, database_url=pg.url("reg"),
                                   signing_key_path=str(tmp_path / "signing.pem"),
                                   stateless_certificate_watch_enabled=False) as reg:
            pid, old = await refugee(reg)
            assert (await verify(reg, old["number"]))["result"] == "valid"
            r = await post(reg, pid, old["document_id"], "replacement", {"reason": "stolen", "note": "pickpocket"})
            assert r.status_code == 201, r.text
            answer = await verify(reg, old["number"])
            assert (answer["result"], answer["revocation_reason"]) == ("revoked", "stolen")
            from registration.api.verification import VerificationOut

            assert VerificationOut.model_validate(answer).model_dump(mode="json", exclude_unset=True) == answer
            assert (await verify(reg, r.json()["issued"]["number"]))["result"] == "valid"
            assert (await verify(reg, old["number"], birth_date="1991-01-01"))["result"] == "unknown"
