"""registration's use cases: what routes and event handlers both call.

Each runs through the kit's one command template (`pana_kit.application`): load → If-Match →
domain step → versioned save → publish what the aggregates recorded (`publishing.py`) → audit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

from pana_kit import audit as audit_log
from pana_kit.application import ANY_VERSION, Audit, Outcome, emit_recorded, run_command, run_creation
from pana_kit.domain import DomainError, InvalidInput, NotFound, RuleViolation, utcnow
from pana_kit.paging import Page

from .domain import (
    blocking_key, match_key, name_similarity, population_record, population_statistics, BorderReferral,
    PopulationStatistics, BorderStatement, FactKind, Household, IdentityDocument, IssuedDocument, IssuedDocumentKind,
    MachineReadableZone, MatchingConfig, MatchResult, Person, RegistrationRules, StatusFact, project_legal_status,
    revoke_when_status_ends,
)
from .domain import extend_asylum_seeker_certificate as extend_certificate
from .domain.legal_status import PersonStatus
from .domain.countries import NO_CITIZENSHIP, UNDETERMINED
from .domain.events import BirthReported
from .matching import candidates
from .pages import offset_of, offset_page
from .publishing import parent_status, publish
from .store.repository import DuplicateReviews, Households, IssuedDocuments, Persons, Referrals, StatusFacts
from .store.tables import PersonRow

SERVICE = "registration"
log = logging.getLogger("registration.service")


def audit(principal, action: str, resource: str) -> Audit:
    return Audit(principal, action, resource, purpose="registration", service=SERVICE)


# --- persons ---------------------------------------------------------------------------

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


async def register_person(uow, details: dict[str, Any], *, override_reason: str | None, principal, office: str | None,
                          prefix: str, matching: MatchingConfig) -> Registered:
    """Register after duplicate matching: a likely duplicate is refused unless the officer overrides it."""
    now = utcnow()
    persons = Persons(uow.session, matching)
    person = Person.register(person_id=str(uuid.uuid4()), registered_by=principal.subject, now=now,
                             registration_number=await persons.new_registration_number(prefix), office=office,
                             **person_fields(details))
    found = await candidates(persons, person, matching)
    likely = [c for c in found if c.verdict == "likely_duplicate"]
    if likely and not override_reason:
        raise RuleViolation("likely_duplicate", "a record of this person probably exists already; check the "
                            "candidates, or register anyway with override_reason",
                            candidates=[c.to_document() for c in likely])
    if likely:
        person.record_duplicate_override(tuple(c.person_id for c in likely), override_reason=override_reason,
                                         overridden_by=principal.subject, now=now)
        await _audit_now(uow, audit(principal, "override-duplicate", f"person/{person.person_id}"))
    DuplicateReviews(uow.session).add_found(person.person_id, found, likely, override_reason=override_reason, now=now)
    await run_creation(uow, persons, person, person.person_id, publish=publish,
                       audit=audit(principal, "register", f"person/{person.person_id}"))
    return Registered(person, [c for c in found if c not in likely])


async def update_person(uow, person_id: str, changes: dict[str, Any], *, reason: str, principal, if_match: str | None,
                        matching: MatchingConfig) -> tuple[Outcome[Person], PersonRow]:
    """Correct or complete a record; a correction that changes nothing is neither saved nor audited."""
    persons = Persons(uow.session, matching)

    def correct(person: Person) -> tuple[str, ...]:
        values = {k: v for k, v in person_fields(changes).items() if v is not None or k in ("patronymic", "ethnicity")}
        return person.update(values, changed_by=principal.subject, reason=reason, now=utcnow())

    done = await run_command(uow, persons, person_id, correct, if_match=if_match, publish=publish)
    if done.result:
        await _audit_now(uow, audit(principal, "update", f"person/{person_id}"))
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


# --- border referrals ----------------------------------------------------------------------

async def refer(uow, person_details: dict[str, Any], *, crossing_point: str, statement: BorderStatement,
                arrived_on: date | None, irregular_entry: bool, principal, office: str | None, prefix: str,
                rules: RegistrationRules) -> tuple[BorderReferral, Person]:
    """Record what was told at the border and register the person; rsd lodges the application from the event."""
    now = utcnow()
    referral = BorderReferral.refer(referral_id=str(uuid.uuid4()), crossing_point=crossing_point, referred_at=now,
                                    referred_by=principal.subject, rules=rules, arrived_on=arrived_on,
                                    irregular_entry=irregular_entry, statement=statement)
    persons = Persons(uow.session)
    person = Person.register(person_id=str(uuid.uuid4()), registered_by=principal.subject, now=now,
                             registration_number=await persons.new_registration_number(prefix), office=office,
                             **person_details)
    referral.register(person_id=person.person_id, registered_at=now, office=office)
    await run_creation(uow, persons, person, person.person_id, publish=publish)
    await run_creation(uow, Referrals(uow.session), referral, referral.referral_id, publish=publish)
    return referral, person


async def _audit_now(uow, entry: Audit, **outcome: str) -> None:
    """An audit entry the template does not write itself (an override, a change decided by the step, an outcome)."""
    await audit_log.record(uow.session, entry.principal, entry.action, entry.resource, purpose=entry.purpose,
                           service=entry.service, **outcome)


# --- births -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Birth:
    """What is told of a birth beyond the child's own record (for the civil registry)."""
    born_in_kazakhstan: bool
    place_of_birth: str | None = None
    medical_birth_certificate_number: str | None = None
    mother_person_id: str | None = None
    father_person_id: str | None = None
    parents_reside_permanently: bool = False


async def record_birth(uow, household_id: str, child_details: dict[str, Any], birth: Birth, *, principal,
                       office: str | None, prefix: str, matching: MatchingConfig) -> Person:
    """Register a child born into a household next to its parent(s); the civil registry follows the event."""
    persons = Persons(uow.session, matching)

    async def birth_into(household: Household) -> Person:
        mother = await _parent(persons, birth.mother_person_id)
        father = await _parent(persons, birth.father_person_id)
        child = await _register_child(persons, child_details, principal, prefix, office, household.household_id)
        parents = [p for p in (birth.mother_person_id, birth.father_person_id) if p]
        household.record_birth(child.person_id, born_on=child.birth_date, parent_person_ids=parents)
        child.report_birth(BirthReported(
            child.person_id, birth.born_in_kazakhstan, birth.place_of_birth, False,
            birth.medical_birth_certificate_number, household.household_id, birth.mother_person_id,
            birth.father_person_id, mother.given_name if mother else None, mother.family_name if mother else None,
            mother.birth_date if mother else None, parent_status(mother), parent_status(father),
            birth.parents_reside_permanently))
        return child

    done = await run_command(uow, Households(uow.session), household_id, birth_into, if_match=ANY_VERSION,
                             publish=publish)
    child = done.result
    await run_creation(uow, persons, child, child.person_id, publish=publish,
                       audit=audit(principal, "record-birth", f"person/{child.person_id}"))
    return child


async def register_foundling(uow, child_details: dict[str, Any], *, place_of_birth: str | None,
                             medical_birth_certificate_number: str | None, principal, office: str | None, prefix: str,
                             matching: MatchingConfig) -> Person:
    """A child found in Kazakhstan, parents unknown: a citizen unless proven otherwise."""
    persons = Persons(uow.session, matching)
    child = await _register_child(persons, child_details, principal, prefix, office, None)
    child.report_birth(BirthReported(child.person_id, True, place_of_birth, True, medical_birth_certificate_number))
    await run_creation(uow, persons, child, child.person_id, publish=publish,
                       audit=audit(principal, "register-foundling", f"person/{child.person_id}"))
    return child


async def _parent(persons: Persons, person_id: str | None) -> Person | None:
    return (await persons.load(person_id))[0] if person_id else None


async def _register_child(persons: Persons, details: dict[str, Any], principal, prefix: str, office: str | None,
                          household_id: str | None) -> Person:
    return Person.register(person_id=str(uuid.uuid4()), registered_by=principal.subject, now=utcnow(),
                           registration_number=await persons.new_registration_number(prefix), office=office,
                           household_id=household_id, citizenships=[UNDETERMINED], **details)


# --- households ----------------------------------------------------------------------------------

async def form_household(uow, *, focal_person_id: str, members: list[tuple[str, str]], formed_on: date,
                         principal) -> Household:
    household = Household.form(household_id=str(uuid.uuid4()), focal_person_id=focal_person_id, formed_on=formed_on)
    for person_id, relationship in members:
        household.add_member(person_id, relationship, on=formed_on)
    persons = Persons(uow.session)
    for person_id in household.members:
        await _join(persons, person_id, household.household_id)
    await run_creation(uow, Households(uow.session), household, household.household_id, publish=publish,
                       audit=audit(principal, "form", f"household/{household.household_id}"))
    return household


async def change_household(uow, household_id: str, change, *, principal, if_match: str | None) -> Outcome[Household]:
    """One membership change (`change(uow, household, persons)`, a coroutine) under the household's version."""
    persons = Persons(uow.session)

    async def step(household: Household):
        return await change(uow, household, persons)

    return await run_command(uow, Households(uow.session), household_id, step, if_match=if_match, publish=publish,
                             audit=audit(principal, "change", f"household/{household_id}"))


def arrival(person_id: str, relationship: str, arrived_on: date):
    async def change(uow, household: Household, persons: Persons) -> None:
        household.record_arrival(person_id, relationship, arrived_on=arrived_on)
        await _join(persons, person_id, household.household_id)
    return change


def departure(person_id: str, *, departed_on: date, reason: str, new_focal_person_id: str | None,
              relationships: dict | None):
    async def change(uow, household: Household, persons: Persons) -> None:
        household.record_departure(person_id, departed_on=departed_on, reason=reason,
                                   new_focal_person_id=new_focal_person_id, relationships=relationships)
        await persons.set_columns(person_id, household_id=None)
    return change


def death(person_id: str, *, died_on: date, new_focal_person_id: str | None, relationships: dict | None, principal):
    """Recorded on the household and on the person's record."""
    async def change(uow, household: Household, persons: Persons) -> None:
        household.record_death(person_id, died_on=died_on, new_focal_person_id=new_focal_person_id,
                               relationships=relationships)
        await run_command(uow, persons, person_id,
                          lambda person: person.record_death(died_on, changed_by=principal.subject,
                                                             reason="death recorded in household", now=utcnow()),
                          if_match=ANY_VERSION, publish=publish)
    return change


def marriage(person_id: str, spouse_person_id: str, married_on: date):
    async def change(uow, household: Household, persons: Persons) -> None:
        await _active(persons, spouse_person_id)
        household.record_marriage(person_id, spouse_person_id, married_on=married_on)
        await _join(persons, spouse_person_id, household.household_id)
    return change


def split(person_ids: list[str], *, new_focal_person_id: str, split_on: date, relationships: dict | None):
    async def change(uow, household: Household, persons: Persons) -> None:
        new = household.split(person_ids, new_household_id=str(uuid.uuid4()), new_focal_person_id=new_focal_person_id,
                              split_on=split_on, relationships=relationships)
        await run_creation(uow, Households(persons.session), new, new.household_id, publish=publish)
        for person_id in new.members:
            await persons.set_columns(person_id, household_id=new.household_id)
    return change


async def _active(persons: Persons, person_id: str) -> Person:
    person, _ = await persons.load(person_id)
    if person.merged_into:
        raise RuleViolation("merged_record_is_closed", f"{person_id} was merged into {person.merged_into}")
    return person


async def _join(persons: Persons, person_id: str, household_id: str) -> None:
    """A person belongs to one registration group at a time."""
    person = await _active(persons, person_id)
    if person.household_id and person.household_id != household_id:
        raise RuleViolation("one_household_per_person", f"{person_id} is a member of household {person.household_id}")
    await persons.set_columns(person_id, household_id=household_id)


# --- legal status and issued documents: system commands, from what rsd, statelessness and the
# civil registry publish (handlers.py). A fact or a document is keyed by what it is, so a repeat
# under another event id changes nothing.

async def registered_person(uow, person_id: str) -> Person | None:
    row = await Persons(uow.session).find_row(person_id)
    if row is None:
        log.warning("event for a person not in the register: %s", person_id)
        return None
    return Persons.person_of(row)


async def add_status_fact(uow, person_id: str, kind: FactKind, on: date, source: str) -> None:
    """Add a fact, re-project the status, publish the change and revoke what the status no longer backs."""
    persons = Persons(uow.session)
    row = await persons.find_row(person_id)
    if row is None:
        log.warning("status fact for a person not in the register: %s", person_id)
        return
    facts = StatusFacts(uow.session)
    status = PersonStatus(person_id, project_legal_status(person_id, await facts.of(person_id)))
    if not await facts.add(person_id, StatusFact(kind, on, source)):
        return
    after = status.reproject(await facts.of(person_id))
    emit_recorded(uow, status, publish)
    if after.status.value != row.legal_status:
        await persons.set_columns(person_id, legal_status=after.status.value)
    docs = IssuedDocuments(uow.session)
    for document in revoke_when_status_ends(await docs.live_of(person_id), current_status=after.status.value, on=on,
                                            reason=f"status is now {after.status.value}"):
        await docs.save(document)
        emit_recorded(uow, document, publish)


async def issue_document(uow, holder: Person, kind: IssuedDocumentKind, on: date, key: str,
                         make: Callable[[str], IssuedDocument]) -> IssuedDocument | None:
    """Issue once per request (`key`); a request the rules refuse is logged, not retried forever."""
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


async def extend_asylum_seeker_certificate(uow, holder: Person, on: date, key: str, rules: RegistrationRules) -> bool:
    """A new certificate replacing the live one; False when there is none to extend."""
    docs = IssuedDocuments(uow.session)
    live = [d for d in await docs.live_of(holder.person_id) if d.kind is IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE]
    previous = max(live, key=lambda d: d.issued_on, default=None)
    if previous is None or previous.replaced_by:
        return False

    def extend(number: str) -> IssuedDocument:
        return extend_certificate(previous, number=number, extended_on=on, rules=rules)
    if await issue_document(uow, holder, IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, on, key, extend):
        await docs.save(previous)
    return True


async def record_civil_registration(uow, person_id: str, *, certificate_number: str, iin: str | None) -> None:
    """The child's birth certificate number and IIN, as the civil registry holds them."""
    try:
        await run_command(uow, Persons(uow.session), person_id,
                          lambda person: person.record_civil_registration(certificate_number=certificate_number,
                                                                          iin=iin, now=utcnow()),
                          if_match=ANY_VERSION, publish=publish)
    except NotFound:
        log.warning("birth registration for unknown person %s", person_id)


# --- duplicates -----------------------------------------------------------------------------------

async def merge_persons(uow, *, surviving_id: str, merged_id: str, reason: str, principal, if_match: str | None,
                        matching: MatchingConfig) -> tuple[Outcome[Person], PersonRow]:
    """Fold `merged_id` into `surviving_id`: the merged record is kept, marked, and leaves the duplicate index."""
    persons = Persons(uow.session, matching)

    async def fold_into(surviving: Person) -> None:
        def fold(merged: Person) -> None:
            if surviving.merged_into:
                raise RuleViolation("merge_distinct_records", f"{surviving.person_id} was itself merged into "
                                    f"{surviving.merged_into}; merge into that record")
            merged.merge_into(surviving, merged_by=principal.subject, reason=reason, now=utcnow())
            # What the register's row knows of the merged record and the surviving one lacks, it keeps.
            surviving.household_id = surviving.household_id or merged.household_id
            surviving.legal_status = surviving.legal_status or merged.legal_status

        await run_command(uow, persons, merged_id, fold, if_match=ANY_VERSION, publish=publish)

    done = await run_command(uow, persons, surviving_id, fold_into, if_match=if_match, publish=publish)
    await DuplicateReviews(uow.session).merged(surviving_id, merged_id)
    await _audit_now(uow, audit(principal, "merge", f"person/{merged_id}"), outcome=f"into {surviving_id}")
    return done, await persons.fresh_row(surviving_id)


async def resolve_review(uow, review_id: str, *, outcome: str, reason: str, surviving_person_id: str | None, principal,
                         if_match: str | None, matching: MatchingConfig):
    """`not_duplicate` closes the review; `merge` also merges the pair (as `merge_persons`)."""
    reviews = DuplicateReviews(uow.session)
    done = await run_command(uow, reviews, review_id, lambda review: review.resolve(outcome, surviving_person_id),
                             if_match=if_match, publish=publish,
                             audit=audit(principal, "not-duplicate", f"duplicate-review/{review_id}")
                             if outcome == "not_duplicate" else None)
    if done.result:
        surviving, merged = done.result
        await merge_persons(uow, surviving_id=surviving, merged_id=merged, reason=reason, principal=principal,
                            if_match=ANY_VERSION, matching=matching)
    row = await reviews.find(review_id)
    await uow.session.refresh(row)
    return row


# --- reads ------------------------------------------------------------------------------------------

async def audited_read(session, found, *, principal, action: str, resource: str, purpose: str, what: str):
    """Every read of personal data is audited, whether or not the record exists; `NotFound` when it does not."""
    await audit_log.record(session, principal, action, resource, purpose=purpose,
                           outcome="ok" if found is not None else "not_found", service=SERVICE)
    if found is None:
        raise NotFound(f"no {what}")
    return found


# --- search -------------------------------------------------------------------------------------------

# A name search scores at most this many records sharing a blocking key with the query.
NAME_SEARCH_POOL = 500
NAME_MATCH = 0.85


async def search_persons(session, matching: MatchingConfig, *, name: str | None, include_merged: bool,
                         cursor: dict | None, limit: int, document_number: str | None,
                         **filters: str | None) -> Page[tuple[PersonRow, float | None]]:
    """Filters combine (AND). By name: ranked by similarity across scripts, a page of the ranking (offset
    cursor); otherwise in a stable order (keyset). Merged records only when asked for."""
    persons = Persons(session, matching)
    if not name:
        page = await persons.search(name_keys=None, document_number=document_number, pool=NAME_SEARCH_POOL,
                                    cursor=cursor, limit=limit, **filters)
        # Merged records are skipped after paging, so a page may hold fewer than `limit` items.
        return Page([(r, None) for r in page.items if include_merged or not r.document.get("merged_into")],
                    page.next_cursor)
    start = offset_of(cursor, most=NAME_SEARCH_POOL)
    keys = {f"{kind}:{blocking_key(w, matching.blocking_key_length)}" for w in name_words(name) for kind in ("f", "g")}
    scored = []
    for row in await persons.search(name_keys=keys, document_number=document_number, pool=NAME_SEARCH_POOL,
                                    cursor=None, limit=limit, **filters):
        person = Person.from_document(row.document)
        if person.merged_into and not include_merged:
            continue
        score = name_score(name, person)
        if score > 0:
            scored.append((row, score))
    scored.sort(key=lambda s: (-s[1], s[0].person_id))
    return offset_page(scored, start, limit)


def name_score(query: str, person: Person) -> float:
    """Every word of the query must be like one of the person's names (any script); mean of the best matches."""
    names = [n for n in (person.given_name, person.family_name, person.patronymic, person.given_name_latin,
                         person.family_name_latin, person.patronymic_latin) if n]
    words = [w for w in name_words(query)]
    if not words:
        return 0.0
    scores = []
    for word in words:
        best = max((name_similarity(word, part) for n in names for part in n.split()), default=0.0)
        if best < NAME_MATCH:
            return 0.0
        scores.append(best)
    return round(sum(scores) / len(scores), 4)


def name_words(query: str) -> list[str]:
    return [w for w in query.split() if match_key(w)][:4]


# --- statistics ---------------------------------------------------------------------------------------

async def population(session, as_of: date, rules: RegistrationRules) -> PopulationStatistics:
    """The register counted on a day, each person with the legal status the facts known by then give."""
    facts = await StatusFacts(session).known_on(as_of)
    records = []
    for person in await Persons(session).everyone():
        record = population_record(person, project_legal_status(person.person_id, facts.get(person.person_id, ())),
                                   as_of)
        if record is not None:
            records.append(record)
    return population_statistics(records, as_of=as_of, rules=rules)
