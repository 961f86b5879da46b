"""Consumed events -> rsd commands. Each handler runs in one unit of work with its inbox record."""

from __future__ import annotations

from pana_events import Envelope
from pana_events.events import registration as reg
from pana_events.vocabulary import specific_needs
from pana_kit.outbox import UnitOfWork

from . import service
from .domain import Member, Relationship, Sex, SpecificNeed
from .store.repository import Applicants

def priority_needs(needs: list[str]) -> frozenset[SpecificNeed]:
    """The applicant's needs as registration recorded them (one list: pana_events.vocabulary); all are kept,
    the application's priority reads those in PRIORITY_NEEDS."""
    return specific_needs(needs)


class RsdHandlers:
    def __init__(self, rules, default_office: str):
        self.rules = rules
        self.default_office = default_office

    def table(self) -> dict:
        return {
            reg.PersonRegistered.event_type: self.person_registered,
            reg.ReferralRegistered.event_type: self.referral_registered,
            reg.SpecificNeedsChanged.event_type: self.specific_needs_changed,
            reg.PersonDeceased.event_type: self.person_deceased,
        }

    async def person_registered(self, event: reg.PersonRegistered, envelope: Envelope, uow: UnitOfWork) -> None:
        await Applicants(uow.session).upsert(
            person_id=event.person_id, given_name=event.given_name, family_name=event.family_name, sex=event.sex,
            birth_date=event.birth_date, citizenship=list(event.citizenship), specific_needs=list(event.specific_needs),
            given_name_latin=event.given_name_latin, family_name_latin=event.family_name_latin,
            registration_number=event.registration_number,
        )

    async def referral_registered(self, event: reg.ReferralRegistered, envelope: Envelope, uow: UnitOfWork) -> None:
        """A person referred at the border is registered: the application is lodged and registered."""
        applicant = await Applicants(uow.session).get(event.person_id)
        sex = Sex(applicant.sex) if applicant and applicant.sex in ("female", "male") else None
        principal = Member(
            id=event.person_id, person_id=event.person_id, relationship=Relationship.PRINCIPAL, sex=sex,
            birth_date=applicant.birth_date if applicant else None,
            specific_needs=priority_needs(applicant.specific_needs if applicant else []),
        )
        # A group referral (a family at the border): one application for the principal and every member, each
        # as registration describes them in the event (their own registration may reach us later: other keys).
        family = [Member(id=m.person_id, person_id=m.person_id, relationship=Relationship(m.relationship),
                         sex=Sex(m.sex) if m.sex in ("female", "male") else None, birth_date=m.birth_date,
                         specific_needs=priority_needs(list(m.specific_needs)))
                  for m in event.members if m.person_id != event.person_id]
        await service.lodge_referred(
            uow, self.rules, referral_id=event.referral_id, principal=principal, family=family,
            office=event.office or self.default_office, referred_on=event.referred_at.date(),
            registered_on=event.registered_at.date(), irregular_entry=event.irregular_entry,
            arrived_on=event.arrived_on, late=event.late)

    async def specific_needs_changed(self, event: reg.SpecificNeedsChanged, envelope: Envelope,
                                     uow: UnitOfWork) -> None:
        """Needs changed after registration: kept for later lodging, and the pending applications' priority
        follows."""
        applicants = Applicants(uow.session)
        if await applicants.get(event.person_id) is not None:
            await applicants.upsert(person_id=event.person_id, specific_needs=[n.value for n in event.specific_needs])
        await service.person_needs_changed(uow, self.rules, person_id=event.person_id,
                                           needs=specific_needs(event.specific_needs))

    async def person_deceased(self, event: reg.PersonDeceased, envelope: Envelope, uow: UnitOfWork) -> None:
        """A registered person died: recorded in every live file they are on, for them alone."""
        await service.person_died(uow, self.rules, person_id=event.person_id, died_on=event.died_on)
