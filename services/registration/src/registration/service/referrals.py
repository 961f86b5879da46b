"""Border referrals: refer and register in one step."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pana_kit.application import run_creation
from pana_kit.domain import utcnow

from ..domain import BorderReferral, BorderStatement, Person, RegistrationRules
from ..publishing import publish
from ..store.repository import Persons, Referrals


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
