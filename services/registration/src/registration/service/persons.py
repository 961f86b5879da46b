"""Persons: registering (with duplicate matching), correcting, identity documents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pana_kit.application import Outcome, run_command, run_creation
from pana_kit.domain import InvalidInput, RuleViolation, utcnow

from ..domain import IdentityDocument, MachineReadableZone, MatchingConfig, MatchResult, Person
from ..domain.countries import NO_CITIZENSHIP, UNDETERMINED
from ..matching import candidates
from ..publishing import publish
from ..store.repository import DuplicateReviews, Persons
from ..store.tables import PersonRow
from .common import record_audit, audit


def person_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The published vocabulary -> the Person aggregate's fields (citizenship + its status -> citizenships)."""
    data = dict(data)
    citizenship = data.pop("citizenship", None)
    status = data.pop("citizenship_status", None)
    if status == "none":
        data["citizenships"] = [NO_CITIZENSHIP]
    elif status == "undetermined":
        data["citizenships"] = [UNDETERMINED]
    elif citizenship is not None or status == "known":
        if status == "known" and not citizenship:
            raise RuleViolation("citizenship_known_needs_code", "citizenship_status known needs at least one code")
        data["citizenships"] = citizenship or [UNDETERMINED]
    return data


@dataclass
class Registered:
    person: Person
    possible_duplicates: list[MatchResult]  # queued for review; registration went ahead
    candidate_limit_reached: bool = False  # more people shared a blocking key than were compared
    audits: list = field(default_factory=list)  # entries to append last (`record_audits`)


async def record_audits(uow, registered: Registered) -> None:
    """Append the registration's audit entries: the caller does it last, after everything else is flushed, because
    the audit append serialises writers until commit (a PostgreSQL advisory lock, pana_kit.audit)."""
    await uow.session.flush()
    for entry in registered.audits:
        await record_audit(uow, entry)


async def register_person(uow, details: dict[str, Any], *, override_reason: str | None, principal, office: str | None,
                          prefix: str, matching: MatchingConfig) -> Registered:
    """Register after duplicate matching: a likely duplicate is refused unless the officer overrides it. The audit
    entries are returned, not written: the caller appends them last (`record_audits`)."""
    now = utcnow()
    persons = Persons(uow.session, matching)
    person = Person.register(person_id=str(uuid.uuid4()), registered_by=principal.subject, now=now,
                             registration_number=await persons.new_registration_number(prefix), office=office,
                             **person_fields(details))
    checked = await candidates(persons, person, matching)
    found = list(checked.results)
    likely = [c for c in found if c.verdict == "likely_duplicate"]
    if likely and not override_reason:
        raise RuleViolation("likely_duplicate", "a record of this person probably exists already; check the "
                            "candidates, or register anyway with override_reason",
                            candidates=[c.to_document() for c in likely])
    audits = []
    if likely:
        person.record_duplicate_override(tuple(c.person_id for c in likely), override_reason=override_reason,
                                         overridden_by=principal.subject, now=now)
        audits.append(audit(principal, "override-duplicate", f"person/{person.person_id}"))
    DuplicateReviews(uow.session).add_found(person.person_id, found, likely, override_reason=override_reason, now=now)
    await run_creation(uow, persons, person, person.person_id, publish=publish)
    audits.append(audit(principal, "register", f"person/{person.person_id}"))
    return Registered(person, [c for c in found if c not in likely], checked.limit_reached, audits)


async def update_person(uow, person_id: str, changes: dict[str, Any], *, reason: str, principal, if_match: str | None,
                        matching: MatchingConfig) -> tuple[Outcome[Person], PersonRow]:
    """Correct or complete a record; a correction that changes nothing is neither saved nor audited."""
    persons = Persons(uow.session, matching)

    def correct(person: Person) -> tuple[str, ...]:
        values = {k: v for k, v in person_fields(changes).items() if v is not None or k in ("patronymic", "ethnicity")}
        return person.update(values, changed_by=principal.subject, reason=reason, now=utcnow())

    done = await run_command(uow, persons, person_id, correct, if_match=if_match, publish=publish)
    if done.result:
        await record_audit(uow, audit(principal, "update", f"person/{person_id}"))
    return done, await persons.fresh_row(person_id)


async def add_identity_document(uow, person_id: str, document: IdentityDocument, *, mrz: MachineReadableZone | None,
                                reason: str, now: datetime, principal, if_match: str | None,
                                matching: MatchingConfig) -> tuple[Outcome[Person], PersonRow]:
    persons = Persons(uow.session, matching)

    def record(person: Person) -> None:
        if mrz and mrz.birth_date and person.birth_date and person.birth_date_precision.value == "exact" \
                and mrz.birth_date != person.birth_date:
            raise InvalidInput(f"the MRZ birth date {mrz.birth_date.isoformat()} differs from the record's "
                               f"{person.birth_date.isoformat()}; correct the record first if the MRZ is right",
                               rule="mrz_birth_date_matches_record", extra={"field": "birth_date"})
        if mrz and mrz.birth_date and document.issued_on and mrz.birth_date > document.issued_on:
            raise InvalidInput(f"birth date {mrz.birth_date.isoformat()} is after the issue date "
                               f"{document.issued_on.isoformat()}", rule="birth_date_not_after_document_issue",
                               extra={"field": "birth_date"})
        person.add_identity_document(document, changed_by=principal.subject, reason=reason, now=now)

    done = await run_command(uow, persons, person_id, record, if_match=if_match, publish=publish,
                             audit=audit(principal, "add-identity-document", f"person/{person_id}"))
    return done, await persons.fresh_row(person_id)
