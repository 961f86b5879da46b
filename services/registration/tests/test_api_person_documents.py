"""GET /api/v1/persons/{id}/documents: a person's certificates with their numbers and today's status, the
same answer verification gives for each number; audited like reading the person."""

from datetime import date, timedelta

from pana_events.events import rsd
from pana_kit.tables import AuditEntry
from sqlalchemy import select

TODAY = date.today()


async def register(reg, key, **over):
    body = {"given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12", "sex": "male",
            "citizenship": ["AFG"], **over}
    r = await reg.client.post("/api/v1/persons", json=body,
                              headers={**reg.headers("registration-officer"), "Idempotency-Key": f"key-{key}-0001"})
    assert r.status_code == 201, r.text
    return r.json()["person_id"]


async def documents(reg, pid, **params):
    r = await reg.client.get(f"/api/v1/persons/{pid}/documents", params=params,
                             headers=reg.headers("registration-officer"))
    assert r.status_code == 200, r.text
    return r.json()


async def verify(reg, number, birth_date="1990-04-12"):
    r = await reg.client.get(f"/api/v1/verify/{number}", params={"birth_date": birth_date},
                             headers=reg.headers("service-provider", purpose=None))
    return r.json()["result"]


async def person_with_history(reg):
    """An expired asylum-seeker certificate, one revoked on recognition, and a valid refugee certificate."""
    pid = await register(reg, "doc-1")
    old = TODAY - timedelta(days=400)
    await reg.deliver(rsd.CertificateRequested(application_id="a-old", person_id=pid, member_ids=[pid], valid_from=old,
                                               valid_until=old + timedelta(days=90), reason="registration"), subject=pid)
    start = TODAY - timedelta(days=20)
    await reg.deliver(rsd.CertificateRequested(application_id="a-1", person_id=pid, member_ids=[pid], valid_from=start,
                                               valid_until=start + timedelta(days=90), reason="registration"), subject=pid)
    await reg.deliver(rsd.DecisionIssued(application_id="a-1", person_id=pid, member_ids=[pid], outcome="recognised",
                                         decided_on=TODAY), subject=pid)
    return pid


async def test_lists_every_document_with_the_status_verification_gives(reg):
    pid = await person_with_history(reg)
    body = await documents(reg, pid)
    assert body["next_cursor"] is None
    items = body["items"]
    assert [(d["kind"], d["status"]) for d in items] == [
        ("asylum_seeker_certificate", "revoked"),  # the old application's, revoked when status moved on
        ("asylum_seeker_certificate", "revoked"), ("refugee_certificate", "valid")]
    assert set(items[0]) == {"document_id", "number", "kind", "status", "issued_on", "expires_on"}
    assert items[2]["issued_on"] == TODAY.isoformat()
    for d in items:
        assert await verify(reg, d["number"]) == d["status"]


async def test_expired_is_shown_as_verification_answers(reg):
    pid = await register(reg, "doc-2")
    old = TODAY - timedelta(days=400)
    await reg.deliver(rsd.CertificateRequested(application_id="a-2", person_id=pid, member_ids=[pid], valid_from=old,
                                               valid_until=old + timedelta(days=90), reason="registration"), subject=pid)
    [d] = (await documents(reg, pid))["items"]
    assert d["status"] == "expired" and await verify(reg, d["number"]) == "expired"


async def test_pages(reg):
    pid = await person_with_history(reg)
    first = await documents(reg, pid, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = await documents(reg, pid, limit=2, cursor=first["next_cursor"])
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    everything = (await documents(reg, pid))["items"]
    assert first["items"] + second["items"] == everything
    bad = await reg.client.get(f"/api/v1/persons/{pid}/documents", params={"cursor": "nonsense"},
                               headers=reg.headers("registration-officer"))
    assert bad.status_code == 400


async def test_a_person_without_documents_and_an_unknown_person(reg):
    pid = await register(reg, "doc-3")
    assert await documents(reg, pid) == {"items": [], "next_cursor": None}
    r = await reg.client.get("/api/v1/persons/nobody/documents", headers=reg.headers("registration-officer"))
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


async def test_needs_a_token_the_scope_and_a_purpose(reg):
    pid = await register(reg, "doc-4")
    url = f"/api/v1/persons/{pid}/documents"
    assert (await reg.client.get(url)).status_code == 401
    assert (await reg.client.get(url, headers=reg.headers("service-provider"))).status_code == 403
    r = await reg.client.get(url, headers=reg.headers("registration-officer", purpose=None))
    assert r.status_code == 422


async def test_every_read_is_audited(reg):
    pid = await register(reg, "doc-5")
    await documents(reg, pid)
    await reg.client.get("/api/v1/persons/nobody/documents", headers=reg.headers("registration-officer"))
    async with reg.app.state.db.session() as session:
        entries = (await session.execute(select(AuditEntry).where(AuditEntry.action == "read-documents"))).scalars().all()
    assert [(e.resource, e.purpose, e.outcome) for e in entries] == [
        (f"person/{pid}", "case-work", "ok"), ("person/nobody", "case-work", "not_found")]


async def test_documented_in_openapi(reg):
    spec = (await reg.client.get("/openapi.json")).json()
    op = spec["paths"]["/api/v1/persons/{person_id}/documents"]["get"]
    assert op["summary"] and op["description"]
    assert {"401", "403", "404", "422"} <= set(op["responses"])
    assert any(p["name"] == "X-Purpose" for p in op["parameters"])


async def test_a_read_of_an_unknown_person_is_audited_too(reg):
    await reg.client.get("/api/v1/persons/nobody", headers=reg.headers("registration-officer"))
    async with reg.app.state.db.session() as session:
        [entry] = (await session.execute(select(AuditEntry).where(AuditEntry.resource == "person/nobody"))).scalars().all()
    assert (entry.action, entry.outcome) == ("read", "not_found")


async def test_a_malformed_verification_is_audited(reg):
    r = await reg.client.get("/api/v1/verify/XX123", params={"birth_date": "1990-04-12"},
                             headers=reg.headers("service-provider", purpose=None))
    assert r.status_code == 422
    await reg.app.state.audit_writer.flush()  # verifications are audited by the writer's next batch
    async with reg.app.state.db.session() as session:
        [entry] = (await session.execute(select(AuditEntry).where(AuditEntry.action == "verify"))).scalars().all()
    assert (entry.resource, entry.outcome) == ("document/malformed", "malformed")
