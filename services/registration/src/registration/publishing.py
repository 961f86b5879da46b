"""The registration service's recorded domain events -> the published contract (pana_events).

The only place contract events are made. Ids and what consumers need, never claim content.
"""

from __future__ import annotations

from typing import Any, Iterable

from pana_events import Event
from pana_events.events import registration as contract
from pana_kit.domain import DomainEvent

from .domain import Person, events
from .domain.countries import NO_CITIZENSHIP, STATELESS, UNDETERMINED


def citizenship_status(person: Person) -> str:
    if NO_CITIZENSHIP in person.citizenships:
        return "none"
    if UNDETERMINED in person.citizenships:
        return "undetermined"
    return "known"


def parent_status(person: Person | None) -> str | None:
    """A parent's status for birth registration: the projection when there is one, else from citizenship."""
    if person is None:
        return None
    if person.legal_status and person.legal_status != "none":
        return person.legal_status
    if STATELESS in person.citizenships or NO_CITIZENSHIP in person.citizenships:
        return "stateless"
    if UNDETERMINED in person.citizenships:
        return "undetermined"
    return "citizen" if "KAZ" in person.citizenships else "foreign_citizen"


def publish(aggregate: Any, recorded: list[DomainEvent]) -> Iterable[tuple[Event, str]]:
    """What each recorded event publishes, with its subject (the person it is about)."""
    for event in recorded:
        match event:
            case events.PersonRegistered():
                yield _person_registered(aggregate, event), event.person_id
            case events.SpecificNeedsChanged():  # rsd recomputes priority from them
                yield contract.SpecificNeedsChanged(person_id=event.person_id,
                                                    specific_needs=sorted(event.specific_needs),
                                                    changed_on=event.changed_at.date()), event.person_id
            case events.PersonsMerged():  # keyed by the merged record: after all published about it
                yield contract.PersonsMerged(surviving_person_id=event.surviving_person_id,
                                             merged_person_id=event.merged_person_id, reason=event.reason), \
                    event.merged_person_id
            case events.BirthReported():
                child = aggregate
                yield contract.BirthRecorded(
                    child_person_id=child.person_id, household_id=event.household_id, given_name=child.given_name,
                    family_name=child.family_name, patronymic=child.patronymic, birth_date=child.birth_date,
                    sex=child.sex.value, born_in_kazakhstan=event.born_in_kazakhstan,
                    place_of_birth=event.place_of_birth, foundling=event.foundling,
                    medical_birth_certificate_number=event.medical_birth_certificate_number,
                    mother_person_id=event.mother_person_id, father_person_id=event.father_person_id,
                    mother_given_name=event.mother_given_name, mother_family_name=event.mother_family_name,
                    mother_birth_date=event.mother_birth_date, mother_status=event.mother_status,
                    father_status=event.father_status, parents_reside_permanently=event.parents_reside_permanently,
                ), child.person_id
                if event.household_id:  # born into a household: the household changed too
                    yield contract.HouseholdChanged(household_id=event.household_id, change="birth",
                                                    person_id=child.person_id), child.person_id
            case events.HouseholdFormed(split_from=None):  # a group split off is published as the split
                yield _household_changed(event, "created", event.focal_person_id)
            case events.MemberArrived():
                yield _household_changed(event, "arrival", event.person_id)
            case events.MemberDeparted():
                yield _household_changed(event, "departure", event.person_id)
            case events.DeathRecorded():
                yield _household_changed(event, "death", event.person_id)
            case events.MarriageRecorded():
                yield _household_changed(event, "marriage", event.person_id)
            case events.HouseholdSplit():
                yield _household_changed(event, "split", event.new_focal_person_id, event.new_household_id)
            case events.LegalStatusChanged():
                yield contract.LegalStatusChanged(person_id=event.person_id, status=event.status,
                                                  previous_status=event.previous_status, since=event.since,
                                                  cause_event_id=event.cause), event.person_id
            case events.PersonDied():  # every other service closes the person's part
                yield contract.PersonDeceased(person_id=event.person_id, died_on=event.died_on), event.person_id
            case events.DocumentIssued():
                yield contract.DocumentIssued(person_id=event.holder_person_id, document_id=aggregate.document_id,
                                              kind=event.kind, number=event.document_number,
                                              valid_from=event.issued_on, valid_until=event.expires_on), \
                    event.holder_person_id
            case events.DocumentRevoked():
                yield contract.DocumentRevoked(person_id=event.holder_person_id, document_id=aggregate.document_id,
                                               kind=event.kind, reason=event.reason or "status ended"), \
                    event.holder_person_id
            case events.ReferralRegistered():
                referral = aggregate
                yield contract.ReferralRegistered(
                    referral_id=event.referral_id, person_id=event.person_id,
                    crossing_point=referral.crossing_point, referred_at=referral.referred_at,
                    registered_at=event.registered_at, language=referral.statement.language, intent="asylum",
                    irregular_entry=referral.irregular_entry, late=event.late, office=event.office,
                    arrived_on=event.arrived_on or referral.arrived_on,
                    members=[contract.ReferralMember(person_id=m.person_id, relationship=m.relationship.value,
                                                     birth_date=m.birth_date, sex=m.sex,
                                                     specific_needs=sorted(m.specific_needs))
                             for m in referral.members if m.person_id in event.member_ids],
                ), event.person_id


def _household_changed(event, change: str, person_id: str,
                       new_household_id: str | None = None) -> tuple[contract.HouseholdChanged, str]:
    return contract.HouseholdChanged(household_id=event.household_id, change=change, person_id=person_id,
                                     new_household_id=new_household_id), person_id


def _person_registered(person: Person, event: events.PersonRegistered) -> contract.PersonRegistered:
    citizenships = [c for c in person.citizenships if len(c) == 3 and c.isupper()]
    return contract.PersonRegistered(
        person_id=person.person_id, registration_number=event.registration_number, given_name=person.given_name,
        family_name=person.family_name, given_name_latin=person.given_name_latin or None,
        family_name_latin=person.family_name_latin or None, birth_date=person.birth_date,
        birth_date_precision=person.birth_date_precision.value, sex=person.sex.value, citizenship=citizenships,
        citizenship_status=citizenship_status(person), country_of_origin=person.country_of_origin,
        specific_needs=sorted(n.value for n in person.specific_needs), household_id=event.household_id,
        registered_at=person.registered_at, office=event.office,
    )
