"""Domain state -> the published contract (pana_events). Ids and what consumers need, never claim content."""

from __future__ import annotations

from pana_events.events import registration as contract

from .domain import Person
from .domain.countries import NO_CITIZENSHIP, STATELESS, UNDETERMINED


def citizenship_status(person: Person) -> str:
    if NO_CITIZENSHIP in person.citizenships:
        return "none"
    if UNDETERMINED in person.citizenships:
        return "undetermined"
    return "known"


def person_registered_event(person: Person, registration_number: str, office: str | None,
                            household_id: str | None = None) -> contract.PersonRegistered:
    citizenships = [c for c in person.citizenships if len(c) == 3 and c.isupper()]
    return contract.PersonRegistered(
        person_id=person.person_id, registration_number=registration_number, given_name=person.given_name,
        family_name=person.family_name, birth_date=person.birth_date,
        birth_date_precision=person.birth_date_precision.value, sex=person.sex.value, citizenship=citizenships,
        citizenship_status=citizenship_status(person), country_of_origin=person.country_of_origin,
        specific_needs=sorted(n.value for n in person.specific_needs), household_id=household_id,
        registered_at=person.registered_at, office=office,
    )


def parent_status(person: Person | None, legal_status: str | None) -> str | None:
    """A parent's status for birth registration: the projection when there is one, else from citizenship."""
    if person is None:
        return None
    if legal_status and legal_status != "none":
        return legal_status
    if STATELESS in person.citizenships or NO_CITIZENSHIP in person.citizenships:
        return "stateless"
    if UNDETERMINED in person.citizenships:
        return "undetermined"
    return "citizen" if "KAZ" in person.citizenships else "foreign_citizen"
