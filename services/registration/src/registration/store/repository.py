"""Loading and saving persons and referrals; every query goes through here."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from sqlalchemy import select

from pana_kit.domain import NotFound

from ..domain import BorderReferral, Person
from ..domain.names import match_key
from .tables import PersonRow, ReferralRow


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Persons:
    def __init__(self, session):
        self.session = session

    async def get_row(self, person_id: str) -> PersonRow:
        row = await self.session.get(PersonRow, person_id)
        if row is None:
            raise NotFound(f"no person {person_id}")
        return row

    async def get(self, person_id: str) -> tuple[Person, int]:
        row = await self.get_row(person_id)
        return Person.from_document(row.document), row.version

    async def add(self, person: Person, *, office: str | None, prefix: str) -> PersonRow:
        now = _now()
        row = PersonRow(
            person_id=person.person_id, registration_number=await self._new_registration_number(prefix, now),
            family_name_key=match_key(person.family_name_latin or person.family_name),
            given_name_key=match_key(person.given_name_latin or person.given_name),
            birth_date=person.birth_date, sex=person.sex.value, office=office, version=1,
            document=person.to_document(), created_at=now, updated_at=now,
        )
        self.session.add(row)
        return row

    async def _new_registration_number(self, prefix: str, now: datetime) -> str:
        # Random, not sequential: a number must not reveal how many people registered before.
        while True:
            number = f"{prefix}-{now:%y}-{secrets.randbelow(10**8):08d}"
            exists = (await self.session.execute(select(PersonRow.person_id).where(PersonRow.registration_number == number))).first()
            if not exists:
                return number


class Referrals:
    def __init__(self, session):
        self.session = session

    def add(self, referral: BorderReferral) -> ReferralRow:
        row = ReferralRow(
            referral_id=referral.referral_id, person_id=referral.person_id, crossing_point=referral.crossing_point,
            referred_at=referral.referred_at, registration_due=referral.registration_due,
            registered_at=referral.registered_at, late=referral.late, document=referral.to_document(),
        )
        self.session.add(row)
        return row
