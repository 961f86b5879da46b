"""The paper documents' lifecycle: an officer renews a certificate or replaces a lost, stolen or damaged one;
a recognised stateless person gets the certificate on reaching the age (a daily pass, and on any request).

Each runs in the caller's unit of work: the domain decides (`domain/documents.py`), the store keeps, what the
documents recorded is published (`publishing.py`: registration.document.revoked.v1 / issued.v1) and audited."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date

from pana_kit.application import emit_recorded, run_creation
from pana_kit.domain import NotFound, add_months
from pana_kit.outbox import UnitOfWork

from ..domain import (
    FactKind, IssuedDocument, IssuedDocumentKind, Person, RegistrationRules, ReplacementReason, issue_stateless_person_certificate,
    project_legal_status, renew_document, replace_document, stateless_certificate_due,
)
from ..domain.certificates import CertificateContent, printable_certificate as printable
from ..publishing import publish
from ..store.repository import IssuedDocuments, Persons, StatusFacts
from .common import audit, audited_read
from .status import issue_document

log = logging.getLogger("registration.documents")


@dataclass(frozen=True)
class DocumentChange:
    """What a renewal or a replacement did: the new document and the one it replaces."""
    issued: IssuedDocument
    previous: IssuedDocument
    stateless_certificate: IssuedDocument | None = None  # issued alongside when it had come due


async def _holder_and_document(uow, person_id: str, document_id: str) -> tuple[Person, IssuedDocument]:
    row = await Persons(uow.session).find_row(person_id)
    if row is None:
        raise NotFound(f"no person {person_id}")
    document = await IssuedDocuments(uow.session).for_change(document_id)
    if document is None or document.holder_person_id != person_id:
        raise NotFound(f"no document {document_id} of person {person_id}")
    return Persons.person_of(row), document


async def _change(uow, person_id: str, document_id: str, *, on: date, action: str, principal, rules,
                  step) -> DocumentChange:
    holder, previous = await _holder_and_document(uow, person_id, document_id)
    projection = project_legal_status(person_id, await StatusFacts(uow.session).of(person_id))
    docs = IssuedDocuments(uow.session, source_key=f"{action}:{previous.document_number}")
    number = await docs.new_number(previous.kind, on.year)
    new = step(previous, projection, number)  # refused transitions raise RuleViolation (409) before any write
    await docs.save(previous)
    emit_recorded(uow, previous, publish)  # a replacement's revocation before the new number's issue
    await run_creation(uow, docs, new, new.document_number, publish=publish,
                       audit=audit(principal, action, f"document/{previous.document_id}"))
    extra = await issue_stateless_certificate_if_due(uow, holder, on, rules)
    return DocumentChange(new, previous, extra)


async def renew(uow, person_id: str, document_id: str, *, on: date, principal, rules: RegistrationRules,
                valid_until: date | None = None) -> DocumentChange:
    """A new document of the same kind for the next validity period; the old one marked replaced."""
    return await _change(uow, person_id, document_id, on=on, action="renew-document", principal=principal,
                         rules=rules, step=lambda previous, projection, number: renew_document(
                             previous, projection, number=number, renewed_on=on, rules=rules,
                             valid_until=valid_until))


async def replace(uow, person_id: str, document_id: str, *, reason: ReplacementReason | str, on: date, principal,
                  rules: RegistrationRules) -> DocumentChange:
    """A lost, stolen or damaged document: the old number revoked with the reason, a new one with its expiry."""
    return await _change(uow, person_id, document_id, on=on, action="replace-document", principal=principal,
                         rules=rules, step=lambda previous, projection, number: replace_document(
                             previous, projection, number=number, replaced_on=on, reason=reason))


def stateless_certificate_key(person_id: str, facts) -> str:
    """One certificate per person and statelessness determination, whichever instance or request issues it
    (a person found stateless again after their status ended gets a new one)."""
    determined = [f for f in facts if f.kind is FactKind.STATELESSNESS_DETERMINED]
    latest = max(determined, key=lambda f: (f.occurred_on, f.sequence)).source_event_id if determined else "-"
    key = f"stateless-certificate:{person_id}:{latest}"
    return key if len(key) <= 100 else f"stateless-certificate:{hashlib.sha256(key.encode()).hexdigest()}"


async def issue_stateless_certificate_if_due(uow, holder: Person, on: date,
                                             rules: RegistrationRules) -> IssuedDocument | None:
    """The stateless person's certificate for a recognised stateless person who has reached
    `stateless_person_certificate_min_age` and holds none (`stateless_certificate_due`); else nothing."""
    facts = await StatusFacts(uow.session).of(holder.person_id)
    projection = project_legal_status(holder.person_id, facts)
    held = await IssuedDocuments(uow.session).live_of(holder.person_id)
    if not stateless_certificate_due(projection, holder.birth_date, held, on=on, rules=rules):
        return None

    def issue(number: str) -> IssuedDocument:
        return issue_stateless_person_certificate(number=number, holder_person_id=holder.person_id,
                                                  holder_birth_date=holder.birth_date, issued_on=on, rules=rules)
    return await issue_document(uow, holder, IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE, on,
                                stateless_certificate_key(holder.person_id, facts), issue)


async def issue_due_stateless_certificates(app_state, on: date, rules: RegistrationRules, *,
                                           batch: int = 200) -> int:
    """One pass: the certificate for every recognised stateless person who has reached the age by `on` and
    holds none. One unit of work per person, the person's row claimed first (`Persons.claim_row`), so
    several instances running the pass issue each certificate once. Returns how many were issued."""
    born_by = add_months(on, -12 * rules.stateless_person_certificate_min_age)
    issued, after = 0, ""
    while True:
        async with UnitOfWork(app_state.db, app_state.source, signal=app_state.signal) as uow:
            ids = await IssuedDocuments(uow.session).stateless_without_certificate(born_by=born_by, limit=batch,
                                                                                  after_id=after)
        for person_id in ids:
            async with UnitOfWork(app_state.db, app_state.source, signal=app_state.signal) as uow:
                row = await Persons(uow.session).claim_row(person_id)
                if row is None:
                    continue  # another instance is on it
                if await issue_stateless_certificate_if_due(uow, Persons.person_of(row), on, rules):
                    issued += 1
        if len(ids) < batch:
            return issued
        after = ids[-1]


async def printable_certificate(session, person_id: str, document_id: str, *, principal, purpose: str,
                                may_read) -> CertificateContent:
    """What a certificate reprint says, read in an audited reading (`api.reading.audited_reading`): the holder
    and the document, both audited as a `print-certificate` of the document; a revoked or replaced document
    is refused (409, `domain.certificates.printable_certificate`) after the audit entry is written."""
    row = await Persons(session).find_row(person_id)
    document = await IssuedDocuments(session).find(document_id)
    found = document if row is not None and document is not None and document.holder_person_id == person_id else None
    await audited_read(session, found, principal=principal, action="print-certificate",
                       resource=f"document/{document_id}", purpose=purpose,
                       what=f"document {document_id} of person {person_id}",
                       visible=row is None or may_read(row.office))
    return printable(document, Persons.person_of(row))
