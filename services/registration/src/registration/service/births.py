"""Births into households, and foundlings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pana_kit.application import ANY_VERSION, run_command, run_creation
from pana_kit.domain import utcnow, new_id

from ..domain import Household, MatchingConfig, Person
from ..domain.countries import UNDETERMINED
from ..domain.events import BirthReported
from ..publishing import parent_status, publish
from ..store.repository import Households, Persons
from .common import audit


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
    return Person.register(person_id=new_id(), registered_by=principal.subject, now=utcnow(),
                           registration_number=await persons.new_registration_number(prefix), office=office,
                           household_id=household_id, citizenships=[UNDETERMINED], **details)
