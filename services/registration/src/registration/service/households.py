"""Households (registration groups) and their membership changes."""

from __future__ import annotations

from datetime import date

from pana_kit.application import ANY_VERSION, Outcome, run_command, run_creation
from pana_kit.domain import RuleViolation, utcnow, new_id

from ..domain import FactKind, Household, Person
from ..publishing import publish
from ..store.repository import Households, Persons
from .common import audit
from .status import add_status_fact


async def form_household(uow, *, focal_person_id: str, members: list[tuple[str, str]], formed_on: date,
                         principal) -> Household:
    household = Household.form(household_id=new_id(), focal_person_id=focal_person_id, formed_on=formed_on)
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
        # the legal status is `deceased`, every document ends, and the other services hear of it once
        # (registration.person.deceased.v1)
        await add_status_fact(uow, person_id, FactKind.DIED, died_on, f"register:died:{person_id}")
    return change


def marriage(person_id: str, spouse_person_id: str, married_on: date):
    async def change(uow, household: Household, persons: Persons) -> None:
        await _active(persons, spouse_person_id)
        household.record_marriage(person_id, spouse_person_id, married_on=married_on)
        await _join(persons, spouse_person_id, household.household_id)
    return change


def split(person_ids: list[str], *, new_focal_person_id: str, split_on: date, relationships: dict | None):
    async def change(uow, household: Household, persons: Persons) -> None:
        new = household.split(person_ids, new_household_id=new_id(), new_focal_person_id=new_focal_person_id,
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
