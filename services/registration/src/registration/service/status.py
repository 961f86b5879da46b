"""Legal status and issued documents: system commands from what rsd, statelessness and the civil
registry publish (`handlers.py`). A fact or a document is keyed by what it is, so a repeat under another
event id changes nothing."""

from __future__ import annotations

import logging
from datetime import date
from typing import Callable

from pana_kit.application import ANY_VERSION, emit_recorded, run_command, run_creation
from pana_kit.domain import DomainError, NotFound, utcnow

from ..domain import (
    FactKind, IssuedDocument, IssuedDocumentKind, Person, PopulationMember, RegistrationRules, StatusFact,
    project_legal_status,
    backed_by, revoke_unbacked,
)
from ..domain import extend_asylum_seeker_certificate as extend_certificate
from ..domain import issue_statelessness_procedure_certificate, reissue_procedure_certificate
from ..domain.legal_status import PersonStatus
from ..publishing import publish
from ..store.repository import IssuedDocuments, Persons, StatusFacts
from ..store.statistics import Population

# Under the handlers' name: these warnings are about consumed events.
log = logging.getLogger("registration.handlers")


async def registered_person(uow, person_id: str) -> Person | None:
    row = await Persons(uow.session).find_row(person_id)
    if row is None:
        log.warning("event for a person not in the register: %s", person_id)
        return None
    return Persons.person_of(row)


async def add_status_fact(uow, person_id: str, kind: FactKind, on: date, source: str) -> None:
    """Add a fact, re-project the status, publish the change and revoke the documents whose own procedure no
    longer backs them (`revoke_unbacked`: a fact of one procedure never ends another's document)."""
    persons = Persons(uow.session)
    row = await persons.find_row(person_id)
    if row is None:
        log.warning("status fact for a person not in the register: %s", person_id)
        return
    population = Population(uow.session)
    counted = await population.member(person_id, lock=True)  # before the facts: one person's facts in turn
    facts = StatusFacts(uow.session)
    status = PersonStatus(person_id, project_legal_status(person_id, await facts.of(person_id)))
    if not await facts.add(person_id, StatusFact(kind, on, source)):
        return
    after = status.reproject(await facts.of(person_id))
    emit_recorded(uow, status, publish)
    if after.status.value != row.legal_status:
        await persons.set_columns(person_id, legal_status=after.status.value)
    # The summary statistics move in this transaction (what was counted of the person, with the new history).
    await population.moved(counted, (counted.with_statuses(after) if counted
                                     else PopulationMember.of(Persons.person_of(row), after)))
    docs = IssuedDocuments(uow.session)
    for document in revoke_unbacked(await docs.live_of(person_id), after, on=on):
        await docs.save(document)
        emit_recorded(uow, document, publish)


async def issue_document(uow, holder: Person, kind: IssuedDocumentKind, on: date, key: str,
                         make: Callable[[str], IssuedDocument]) -> IssuedDocument | None:
    """Issue once per request (`key`); a request the rules refuse is logged, not retried forever. A document
    its procedure does not back now (`backed_by`: the holder died, was naturalized, the asylum track moved
    on) is not issued, as it would be revoked at once."""
    projection = project_legal_status(holder.person_id, await StatusFacts(uow.session).of(holder.person_id))
    if not backed_by(kind, projection):
        log.warning("no %s for %s: its procedure does not back it (status %s)", kind.value, holder.person_id,
                    projection.status.value)
        return None
    docs = IssuedDocuments(uow.session, source_key=key)
    if await docs.issued_for(key):
        return None
    number = await docs.new_number(kind, on.year)
    try:
        document = make(number)
    except DomainError as exc:  # a child's own certificate, say
        log.warning("no %s for %s: %s (%s)", kind.value, holder.person_id, exc.detail, exc.rule)
        return None
    await run_creation(uow, docs, document, document.document_number, publish=publish)
    return document


async def extend_asylum_seeker_certificate(uow, holder: Person, on: date, key: str, rules: RegistrationRules,
                                           valid_until: date | None = None) -> bool:
    """A new certificate replacing the live one; False when there is none to extend."""
    docs = IssuedDocuments(uow.session)
    live = [d for d in await docs.live_of(holder.person_id) if d.kind is IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE]
    previous = max(live, key=lambda d: d.issued_on, default=None)
    if previous is None or previous.replaced_by:
        return False

    def extend(number: str) -> IssuedDocument:
        return extend_certificate(previous, number=number, extended_on=on, rules=rules, valid_until=valid_until)
    if await issue_document(uow, holder, IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, on, key, extend):
        await docs.save(previous)
    return True


async def statelessness_procedure_certificate(uow, holder: Person, on: date, key: str, rules: RegistrationRules,
                                              valid_until: date | None = None) -> IssuedDocument | None:
    """The applicant's lawful-stay paper for the statelessness procedure: a new one from `on` replacing the live
    one (`reissue_procedure_certificate`: the procedure goes on, or only its appeal window is left), or the
    first one when they hold none. Issued only while the procedure backs it (`backed_by`)."""
    docs = IssuedDocuments(uow.session)
    live = [d for d in await docs.live_of(holder.person_id)
            if d.kind is IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE and not d.replaced_by]
    previous = max(live, key=lambda d: d.issued_on, default=None)

    def make(number: str) -> IssuedDocument:
        if previous is not None:
            return reissue_procedure_certificate(previous, number=number, on=on, rules=rules, valid_until=valid_until)
        return issue_statelessness_procedure_certificate(number=number, holder_person_id=holder.person_id,
                                                         holder_birth_date=holder.birth_date, issued_on=on,
                                                         rules=rules, valid_until=valid_until)
    issued = await issue_document(uow, holder, IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE, on, key, make)
    if issued is not None and previous is not None:
        await docs.save(previous)
        emit_recorded(uow, previous, publish)  # a superseded paper's revocation
    return issued


async def record_civil_registration(uow, person_id: str, *, certificate_number: str, iin: str | None) -> None:
    """The child's birth certificate number and IIN, as the civil registry holds them."""
    try:
        await run_command(uow, Persons(uow.session), person_id,
                          lambda person: person.record_civil_registration(certificate_number=certificate_number,
                                                                          iin=iin, now=utcnow()),
                          if_match=ANY_VERSION, publish=publish)
    except NotFound:
        log.warning("birth registration for unknown person %s", person_id)
