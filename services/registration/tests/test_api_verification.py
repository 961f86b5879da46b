"""Status verification for service providers, QR codes and the public key."""

import asyncio
import uuid
from datetime import date

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pana_events.events import rsd
from pana_dev.testing import eventually, service_harness
from registration.app import create
from registration.domain import verify_qr_payload
from registration.settings import RegistrationSettings
from sqlalchemy import select

from registration.store.tables import IssuedDocumentRow


async def refugee(reg):
    r = await reg.client.post("/api/v1/persons", json={
        "given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12", "sex": "male", "citizenship": ["AFG"]},
        headers={**reg.headers("registration-officer"), "Idempotency-Key": "person-key-1"})
    pid = r.json()["person_id"]
    await reg.deliver(rsd.DecisionIssued(application_id="a-1", person_id=pid, outcome="recognised",
                                         decided_on=date.today()), subject=pid)
    [doc] = await reg.published("registration.document.issued.v1")
    return pid, doc["data"]


async def test_valid_unknown_and_malformed(reg):
    _, doc = await refugee(reg)
    h = reg.headers("service-provider", purpose=None)
    r = await reg.client.get(f"/api/v1/verify/{doc['number']}", params={"birth_date": "1990-04-12"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["result"] == "valid" and body["status_category"] == "refugee" and "medical_care" in body["entitlements"]
    assert set(body) == {"result", "status_category", "expires_on", "entitlements"}
    from registration.api.verification import VerificationOut  # the body is built by hand: it keeps the schema

    assert VerificationOut.model_validate(body).model_dump(mode="json", exclude_unset=True) == body
    assert r.headers["content-type"] == "application/json"
    wrong_birth = await reg.client.get(f"/api/v1/verify/{doc['number']}", params={"birth_date": "1991-04-12"}, headers=h)
    assert wrong_birth.json()["result"] == "unknown"
    bad = await reg.client.get("/api/v1/verify/XX123", params={"birth_date": "1990-04-12"}, headers=h)
    assert bad.status_code == 422 and bad.json()["rule"] == "document_number_format"
    assert (await reg.client.get(f"/api/v1/verify/{doc['number']}", params={"birth_date": "1990-04-12"},
                                 headers=reg.headers("registration-officer"))).status_code == 403


async def test_guessing_is_slowed_down(reg):
    h = reg.headers("service-provider", purpose=None)
    codes = []
    for _ in range(7):
        r = await reg.client.get("/api/v1/verify/XX123", params={"birth_date": "1990-04-12"}, headers=h)
        codes.append(r.status_code)
    assert codes[:5] == [422] * 5 and codes[-1] == 429
    assert int(r.headers["Retry-After"]) >= 1


async def test_qr_verifies_offline_with_the_public_key(reg):
    _, doc = await refugee(reg)
    pem = await reg.client.get("/api/v1/documents/public-key", headers=reg.headers("service-provider", purpose=None))
    assert pem.status_code == 200
    qr = await reg.client.get(f"/api/v1/documents/{doc['document_id']}/qr", headers=reg.headers("registration-officer"))
    assert qr.status_code == 200 and qr.content.startswith(b"\x89PNG")
    from registration.domain import qr_payload, IssuedDocument
    async with reg.app.state.db.session() as s:
        row = (await s.execute(select(IssuedDocumentRow))).scalar_one()
    payload = qr_payload(IssuedDocument.from_document(row.document), reg.app.state.signing_key)
    claims = verify_qr_payload(payload, load_pem_public_key(pem.text.encode()))
    assert claims["n"] == doc["number"]


class StoppedClock:
    """The rate limiter's clock, standing still: a bucket refills only when a test moves it (refilling itself
    is the kit's test_ratelimit); with the real clock a machine slow enough (12 s for these few requests at 5
    a minute) would earn a token back and answer 200 where the test wants 429."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stopped_rate_clock(monkeypatch) -> StoppedClock:
    import pana_kit.ratelimit

    clock = StoppedClock()

    class StoppedBucket(pana_kit.ratelimit.TokenBucket):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "clock": clock})

    monkeypatch.setattr(pana_kit.ratelimit, "TokenBucket", StoppedBucket)  # buckets are made at first use
    return clock


async def test_verifications_are_rate_limited_per_client(tmp_path, stopped_rate_clock):
    # The default is 60 a minute (the 61st is refused); a small configured rate keeps the test short.
    assert RegistrationSettings().verify_rate_per_minute == 60
    async with service_harness(create, RegistrationSettings, tmp_path, signing_key_path=str(tmp_path / "signing.pem"),
                               verify_rate_per_minute=5) as reg:
        _, doc = await refugee(reg)
        h = reg.headers("service-provider", purpose=None)
        url, params = f"/api/v1/verify/{doc['number']}", {"birth_date": "1990-04-12"}
        codes = [(await reg.client.get(url, params=params, headers=h)).status_code for _ in range(5)]
        assert codes == [200] * 5
        r = await reg.client.get(url, params=params, headers=h)
        assert r.status_code == 429 and r.headers["content-type"].startswith("application/problem+json")
        assert int(r.headers["Retry-After"]) >= 1 and r.json()["type"].endswith("rate-limited")
        # another client still gets its answer; a request refused for auth uses no tokens
        other = reg.headers("service-provider", purpose=None, subject="pharmacy-2")
        assert (await reg.client.get(url, params=params, headers=other)).status_code == 200
        assert (await reg.client.get(url, params=params, headers=reg.headers("registration-officer"))).status_code == 403


async def test_the_hot_path_answers_as_the_route_and_leaves_every_refusal_to_it(reg, monkeypatch):
    # Well-formed checks are answered by `verify_hot` from the kit's middleware (pana_kit.middleware.HotRoute),
    # the rest by the FastAPI route; the two give the same bytes, and the same audit entry.
    from registration.api import verification

    _, doc = await refugee(reg)
    h = reg.headers("service-provider", purpose=None)
    answered = []
    hot = verification.HOT_VERIFY.handle

    async def counted(scope):
        body = await hot(scope)
        answered.append(body is not None)
        return body

    async def never(scope):
        return None

    async def get(number, birth="1990-04-12", headers=h):
        r = await reg.client.get(f"/api/v1/verify/{number}", params={"birth_date": birth}, headers=headers)
        return r.status_code, [kv for kv in r.headers.multi_items() if kv[0] != "x-request-id"], r.content

    cases = [(doc["number"],), (doc["number"], "1991-04-12"), (doc["number"].lower(),), ("RF2500012349",)]
    monkeypatch.setattr(verification.HOT_VERIFY, "handle", counted)
    hot_answers = [await get(*case) for case in cases]
    assert answered == [True] * len(cases)
    monkeypatch.setattr(verification.HOT_VERIFY, "handle", never)
    assert [await get(*case) for case in cases] == hot_answers
    assert [a[0] for a in hot_answers] == [200] * 4
    await reg.app.state.audit_writer.flush()
    from pana_kit.tables import AuditEntry

    async with reg.app.state.db.session() as s:
        rows = (await s.execute(select(AuditEntry.subject, AuditEntry.client_id, AuditEntry.role, AuditEntry.action,
                                       AuditEntry.resource, AuditEntry.purpose, AuditEntry.outcome)
                                .where(AuditEntry.action == "verify").order_by(AuditEntry.seq))).all()
    assert rows[:4] == rows[4:] and len(rows) == 8

    # Refusals and edges: the hot handler declines each (nothing taken), the route answers.
    answered.clear()
    monkeypatch.setattr(verification.HOT_VERIFY, "handle", counted)
    edges = [await reg.client.get(f"/api/v1/verify/{doc['number']}", params=params, headers=headers)
             for params, headers in [({"birth_date": "1990-04-12"}, {}),  # no token: 401
                                     ({"birth_date": "1990-04-12"}, reg.headers("registration-officer")),  # 403
                                     ({"birth_date": "1990-02-30"}, h), ({"birth_date": "19900412"}, h),  # 422
                                     ({"birth_date": "1990-04-12", "x": "1"}, h)]]  # an extra parameter: 200
    assert [r.status_code for r in edges] == [401, 403, 422, 422, 200] and answered == [False] * 5
    malformed = await reg.client.get("/api/v1/verify/XX123", params={"birth_date": "1990-04-12"}, headers=h)
    assert malformed.status_code == 422 and answered[-1] is False


# -- freshness: every answer comes from a read begun after its request arrived (issue 16) ---------------------

@pytest.fixture(scope="module")
def verify_postgres():
    from pana_dev.testing import module_postgres

    with module_postgres("registration-verify-reads") as pg:
        yield pg


@pytest.fixture(params=["sqlite", "postgres"])
async def any_reg(request, tmp_path):
    """The service on SQLite (point reads) or on PostgreSQL (coalesced reads on a held connection)."""
    url = None
    if request.param == "postgres":
        pg = request.getfixturevalue("verify_postgres")
        name = f"reg_{uuid.uuid4().hex[:10]}"
        pg.create_database(name)
        url = pg.url(name)
    async with service_harness(create, RegistrationSettings, tmp_path, database_url=url,
                               signing_key_path=str(tmp_path / "signing.pem"),
                               stateless_certificate_watch_enabled=False) as harness:
        yield harness


async def _revoke(reg, number: str, reason: str = "stolen") -> None:
    from registration.store.repository import IssuedDocuments

    async with reg.app.state.db.transaction() as session:
        documents = IssuedDocuments(session)
        document = await documents.by_number(number)
        document.revoke(on=date.today(), reason=reason)
        await documents.save(document)  # the document and its verification entry, in one transaction


async def _check(reg, number: str, birth: str = "1990-04-12"):
    r = await reg.client.get(f"/api/v1/verify/{number}", params={"birth_date": birth},
                             headers=reg.headers("service-provider", purpose=None))
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_document_revoked_before_a_check_is_revoked_for_it_and_for_concurrent_checks(any_reg):
    reg = any_reg
    # SQLite: each check's point read (pana_kit.db.SqlitePointReads) begins after the revocation's commit;
    # PostgreSQL: the coalesced read that concurrent checks join begins after it too.
    _, doc = await refugee(reg)
    number = doc["number"]
    assert (await _check(reg, number))["result"] == "valid"
    await _revoke(reg, number)
    answers = await asyncio.gather(*(_check(reg, number) for _ in range(8)))
    assert [a["result"] for a in answers] == ["revoked"] * 8
    assert all(a["revocation_reason"] == "stolen" for a in answers)


async def test_checks_that_arrive_while_a_read_is_in_flight_join_the_next_read_and_see_a_revocation_before_it(
        any_reg, monkeypatch):
    reg = any_reg
    # The coalesced path (PostgreSQL's; SQLite's when a point read cannot be made, forced here): the first check's
    # read has run (before the revocation) and is held in flight; the revocation commits; eight checks arrive,
    # wait, and share the next read, which begins after all of them: the first check says valid, the eight
    # revoked, and every check is audited once.
    from pana_kit.audit import AuditWriter
    from registration.store.repository import VerificationIndex

    _, doc = await refugee(reg)
    number = doc["number"]
    db = reg.app.state.db
    monkeypatch.setattr(db, "point_read", lambda *args: None, raising=False)
    fetched: list[list[str]] = []
    release = asyncio.Event()
    fetch = VerificationIndex.fetch.__func__

    async def held_fetch(cls, db_, numbers):
        found = await fetch(cls, db_, numbers)
        fetched.append(list(numbers))
        if len(fetched) == 1:
            await release.wait()  # the first read done, its answer held back
        return found

    monkeypatch.setattr(VerificationIndex, "fetch", classmethod(held_fetch))
    submitted = []
    submit = AuditWriter.submit

    def counted(self, principal, action, resource, **kw):
        submitted.append((action, resource, kw.get("outcome")))
        return submit(self, principal, action, resource, **kw)

    monkeypatch.setattr(AuditWriter, "submit", counted)
    first = asyncio.create_task(_check(reg, number))
    await eventually(lambda: len(fetched) == 1, what="the first read done and held")
    coalesced = db.coalesced("verification", None)  # the one the first check made
    await _revoke(reg, number)
    rest = [asyncio.create_task(_check(reg, number)) for _ in range(8)]
    await eventually(lambda: sum(map(len, coalesced._waiting.values())) == 8, what="eight checks waiting")
    release.set()
    assert (await first)["result"] == "valid"
    assert [(await t)["result"] for t in rest] == ["revoked"] * 8
    assert fetched == [[number], [number]]  # the eight checks: one read
    assert sorted(submitted) == [("verify", f"document/{number}", "revoked")] * 8 + [
        ("verify", f"document/{number}", "valid")]
    # and the audit log holds each of them, chained
    from pana_kit.audit import verify_chain
    from pana_kit.tables import AuditEntry

    await reg.app.state.audit_writer.flush()
    async with db.session() as session:
        outcomes = (await session.execute(select(AuditEntry.outcome).where(
            AuditEntry.action == "verify", AuditEntry.resource == f"document/{number}"))).scalars().all()
        assert sorted(outcomes) == ["revoked"] * 8 + ["valid"]
        assert (await verify_chain(session)).intact


async def test_malformed_checks_are_still_problems_on_every_read_path(any_reg, monkeypatch):
    reg = any_reg
    _, doc = await refugee(reg)
    h = reg.headers("service-provider", purpose=None)
    for point_read in (True, False):
        if not point_read:
            monkeypatch.setattr(reg.app.state.db, "point_read", lambda *args: None, raising=False)
        for number, params in (("XX123", {"birth_date": "1990-04-12"}), (doc["number"], {"birth_date": "1990-13-40"}),
                               (doc["number"], {}), ("A" * 21, {"birth_date": "1990-04-12"})):
            r = await reg.client.get(f"/api/v1/verify/{number}", params=params, headers=h)
            assert r.status_code == 422, (number, params, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        assert (await _check(reg, doc["number"]))["result"] == "valid"


def test_a_verifications_today_is_the_clocks_local_date(monkeypatch):
    """`_today` (date.today reused within a second) follows the clock: a later second on another day gives that
    day, whatever it held."""
    import time

    from registration.api import verification

    for instant in (1_796_213_537.25, 1_796_213_537.75, 1_796_213_537.75 + 86_400, 1_796_213_537.25):
        monkeypatch.setattr(time, "time", lambda instant=instant: instant)
        assert verification._today() == date.fromtimestamp(instant)
    monkeypatch.undo()
    assert verification._today() in (date.today(), date.fromtimestamp(time.time() - 1))
