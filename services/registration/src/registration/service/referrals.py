"""Border referrals: refer and register in one step."""

from __future__ import annotations

from datetime import date
from typing import Any

from pana_kit.application import run_creation
from pana_kit.domain import utcnow, new_id

from ..domain import (
    BorderReferral, BorderStatement, GroupMember, GroupRelationship, Person, ReferralMember, RegistrationRules,
    check_group,
)
from ..domain.household import Relationship
from ..publishing import publish
from ..store.repository import Persons, Referrals
from .households import form_household


async def refer(uow, person_details: dict[str, Any], *, crossing_point: str, statement: BorderStatement,
                arrived_on: date | None, irregular_entry: bool, principal, office: str | None, prefix: str,
                rules: RegistrationRules) -> tuple[BorderReferral, Person]:
    """Record what was told at the border and register the person; rsd lodges the application from the event."""
    now = utcnow()
    referral = BorderReferral.refer(referral_id=new_id(), crossing_point=crossing_point, referred_at=now,
                                    referred_by=principal.subject, rules=rules, arrived_on=arrived_on,
                                    irregular_entry=irregular_entry, statement=statement)
    persons = Persons(uow.session)
    person = Person.register(person_id=new_id(), registered_by=principal.subject, now=now,
                             registration_number=await persons.new_registration_number(prefix), office=office,
                             **person_details)
    referral.register(person_id=person.person_id, registered_at=now, office=office)
    await run_creation(uow, persons, person, person.person_id, publish=publish)
    await run_creation(uow, Referrals(uow.session), referral, referral.referral_id, publish=publish)
    return referral, person


# A group member's relationship to the principal, as the household records it to its focal person.
HOUSEHOLD_RELATIONSHIP = {GroupRelationship.SPOUSE: Relationship.SPOUSE, GroupRelationship.CHILD: Relationship.CHILD,
                          GroupRelationship.OTHER: Relationship.UNSPECIFIED}


async def refer_group(uow, members: list[tuple[GroupRelationship, dict[str, Any]]], *, crossing_point: str,
                      statement: BorderStatement, arrived_on: date | None, irregular_entry: bool, principal,
                      office: str | None, prefix: str,
                      rules: RegistrationRules) -> tuple[BorderReferral, list[tuple[GroupRelationship, Person]], str]:
    """A family referred together: the group's rules first (`check_group`; nothing is stored on refusal), then
    every person registered, the household formed around the principal, and one referral whose event names
    the members, so rsd lodges one application for them all. Returns the referral, the persons in the order
    given and the household id."""
    check_group([GroupMember(rel, d["given_name"], d["family_name"], d.get("birth_date")) for rel, d in members],
                rules)
    now = utcnow()
    referral = BorderReferral.refer(referral_id=new_id(), crossing_point=crossing_point, referred_at=now,
                                    referred_by=principal.subject, rules=rules, arrived_on=arrived_on,
                                    irregular_entry=irregular_entry, statement=statement)
    persons = Persons(uow.session)
    registered: list[tuple[GroupRelationship, Person]] = []
    for relationship, details in members:
        person = Person.register(person_id=new_id(), registered_by=principal.subject, now=now,
                                 registration_number=await persons.new_registration_number(prefix), office=office,
                                 **details)
        await run_creation(uow, persons, person, person.person_id, publish=publish)
        registered.append((relationship, person))
    head = next(p for rel, p in registered if rel is GroupRelationship.PRINCIPAL)
    others = [(rel, p) for rel, p in registered if p is not head]
    household = await form_household(uow, focal_person_id=head.person_id, formed_on=now.date(), principal=principal,
                                     members=[(p.person_id, HOUSEHOLD_RELATIONSHIP[rel].value) for rel, p in others])
    referral.register(person_id=head.person_id, registered_at=now, office=office, members=[
        ReferralMember(p.person_id, rel, p.birth_date, p.sex.value, tuple(sorted(n.value for n in p.specific_needs)))
        for rel, p in others])
    await run_creation(uow, Referrals(uow.session), referral, referral.referral_id, publish=publish)
    return referral, registered, household.household_id
