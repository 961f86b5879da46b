"""The verification projection: one row per document number, kept with the documents, backfilled by 0009."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import sqlalchemy as sa

from pana_kit.migrations import upgrade
from registration.app import MIGRATIONS
from registration.domain import (
    IssuedDocument, IssuedDocumentKind, RegistrationRules, VerificationEntry, document_number, verify_document,
    verify_entry,
)


def _n(serial: int) -> str:
    return document_number("refugee_certificate", 2026, serial)


def _doc(number: str, **kw) -> IssuedDocument:
    values = dict(document_number=number, kind=IssuedDocumentKind.REFUGEE_CERTIFICATE, holder_person_id="p1",
                  holder_birth_date=date(1990, 4, 12), issued_on=date(2026, 1, 5), expires_on=date(2031, 1, 4))
    return IssuedDocument(**{**values, **kw})


def test_the_entry_answers_as_the_document_does():
    rules = RegistrationRules()
    valid, revoked, stolen = _doc(_n(11)), _doc(_n(22)), _doc(_n(33))
    revoked.revoke(on=date(2026, 3, 1), reason="the holder died")
    stolen.revoke(on=date(2026, 3, 1), reason="stolen")
    for document in (valid, revoked, stolen):
        for birth in (date(1990, 4, 12), date(1990, 4, 13)):
            for today in (date(2026, 6, 1), date(2031, 1, 5)):
                assert verify_entry(document.document_number, VerificationEntry.of(document), birth_date=birth,
                                    today=today, rules=rules) == verify_document(
                    document.document_number, document, birth_date=birth, today=today, rules=rules)
                # a number the caller has checked (the hot path): the same answer, the check not made twice
                assert verify_entry(document.document_number, VerificationEntry.of(document), birth_date=birth,
                                    today=today, rules=rules, checked=True) == verify_document(
                    document.document_number, document, birth_date=birth, today=today, rules=rules)
    # the projection keeps no claim outcome: only what verification may tell
    assert VerificationEntry.of(revoked).revocation_reason is None
    assert VerificationEntry.of(stolen).revocation_reason == "stolen"


def test_migration_0009_backfills_every_issued_document(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    upgrade(MIGRATIONS, url, "0007")
    stolen = _doc(_n(33))
    stolen.revoke(on=date(2026, 3, 1), reason="stolen")
    documents = [_doc(_n(i)) for i in range(1, 12)] + [stolen, _doc(_n(44), holder_birth_date=None)]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'r.db'}")
    issued = sa.table("issued_documents", *(sa.column(c) for c in (
        "document_id", "document_number", "kind", "holder_person_id", "state", "document", "created_at")),
        sa.column("document", sa.JSON))
    with engine.begin() as conn:
        conn.execute(issued.insert(), [dict(document_id=str(uuid.uuid4()), document_number=d.document_number,
                                            kind=d.kind.value, holder_person_id=d.holder_person_id, state=d.state.value,
                                            document=d.to_document(), created_at=datetime.now(timezone.utc))
                                       for d in documents])
    upgrade(MIGRATIONS, url)
    with engine.connect() as conn:
        rows = {r.document_number: r for r in conn.execute(sa.text("SELECT * FROM verification_index"))}
    engine.dispose()
    assert set(rows) == {d.document_number for d in documents}
    for d in documents:
        entry = VerificationEntry.of(d)
        row = rows[d.document_number]
        assert (row.kind, row.state, row.expires_on, row.holder_birth_date, row.revocation_reason) == (
            entry.kind, entry.state, str(entry.expires_on),
            str(entry.holder_birth_date) if entry.holder_birth_date else None, entry.revocation_reason)
