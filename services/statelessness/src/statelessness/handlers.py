"""Consumed events -> statelessness use cases (service.py), as system commands. Each handler runs
in one unit of work with its inbox record; the projections of other services' facts it keeps
(persons, asylum claims) are written through the repository.

Ex officio openings (docs/domain.md, "Statelessness determination"): a person registered with
no or undetermined citizenship, a child flagged at risk at birth, an asylum-seeker rejected
without a nationality. One case per person at a time: an event for someone already in the
procedure opens nothing new.
"""

from __future__ import annotations

from datetime import date

from pana_events import Envelope
from pana_events.events import registration as reg
from pana_events.events import rsd
from pana_events.vocabulary import AppealOutcome
from pana_kit.crypto import Keyring
from pana_kit.outbox import UnitOfWork

from .domain import OpeningReason, ParentNationality, StatelessnessRules, nationality_from_legal_status
from .service import Statelessness
from .store.repository import Persons
from .store.tables import PersonRow

def _day(envelope: Envelope) -> date:
    return envelope.time.date() if envelope.time else date.today()


def parent_nationality(status: str | None, person: PersonRow | None) -> ParentNationality | None:
    """A parent's nationality status from the birth record, else from the person projection.

    None means the parent is unknown (e.g. no father recorded): the at-risk rule then looks
    at the known parent alone.
    """
    known = nationality_from_legal_status(status)  # exact values: `not_stateless` is not stateless
    recorded_without_nationality = person is not None and (
        person.citizenship_status == "none" or bool(person.citizenship and all(c == "XXA" for c in person.citizenship)))
    if known is ParentNationality.UNDETERMINED and recorded_without_nationality:
        # "undetermined" (or a pending statelessness application) says less than a register entry of no nationality
        return ParentNationality.STATELESS
    if known is not None:
        return known
    if person is not None:
        if recorded_without_nationality:
            return ParentNationality.STATELESS
        if person.citizenship_status == "undetermined":
            return ParentNationality.UNDETERMINED
        return ParentNationality.NATIONAL
    if status:
        return ParentNationality.NATIONAL  # citizen, refugee, foreign national ...: a nationality is recorded
    return None


class StatelessnessHandlers:
    # The app's keyring (app.state.keyring), set by `create` once the app has loaded it.
    keyring: Keyring | None = None

    def __init__(self, rules: StatelessnessRules, system_officer: str, newborn_days: int = 365):
        self.rules = rules
        self.newborn_days = newborn_days
        self.system_officer = system_officer

    def table(self) -> dict:
        return {
            reg.PersonRegistered.event_type: self.person_registered,
            reg.BirthRecorded.event_type: self.birth_recorded,
            reg.LegalStatusChanged.event_type: self.legal_status_changed,
            reg.PersonsMerged.event_type: self.persons_merged,
            reg.PersonDeceased.event_type: self.person_deceased,
            rsd.ApplicationLodged.event_type: self.application_lodged,
            rsd.DecisionIssued.event_type: self.decision_issued,
            rsd.AppealDecided.event_type: self.appeal_decided,
            rsd.AppealDecidedV2.event_type: self.appeal_decided_v2,
        }

    def _use_cases(self, uow: UnitOfWork) -> Statelessness:
        return Statelessness(uow, rules=self.rules, keyring=self.keyring)

    async def _open_ex_officio(self, uow: UnitOfWork, *, person_id: str, reason: OpeningReason, on: date,
                               birth_date: date | None, note: str, envelope: Envelope) -> None:
        await self._use_cases(uow).open_ex_officio(person_id=person_id, reason=reason, opened_on=on,
                                                   birth_date=birth_date, opened_by=self.system_officer, note=note,
                                                   source_event_id=envelope.id)

    async def person_registered(self, event: reg.PersonRegistered, envelope: Envelope, uow: UnitOfWork) -> None:
        persons = Persons(uow.session)
        person = await persons.upsert(
            event.person_id, sex=event.sex, birth_date=event.birth_date, citizenship=list(event.citizenship),
            citizenship_status=event.citizenship_status, country_of_origin=event.country_of_origin,
        )
        newborn = event.birth_date is not None and 0 <= (event.registered_at.date() - event.birth_date).days <= self.newborn_days
        if newborn and event.citizenship_status == "undetermined":
            # A birth recorded by registration: the children-at-risk rule decides (birth.recorded follows).
            return
        if Persons.without_nationality(person):
            await self._open_ex_officio(
                uow, person_id=event.person_id, reason=OpeningReason.REGISTERED_WITHOUT_CITIZENSHIP,
                on=event.registered_at.date(),
                birth_date=event.birth_date, envelope=envelope,
                note=f"registered with citizenship {event.citizenship_status}"
                     + (f" ({', '.join(event.citizenship)})" if event.citizenship else ""),
            )

    async def birth_recorded(self, event: reg.BirthRecorded, envelope: Envelope, uow: UnitOfWork) -> None:
        persons = Persons(uow.session)
        existing = await persons.get(event.child_person_id)
        await persons.upsert(event.child_person_id, sex=event.sex, birth_date=event.birth_date,
                             **({} if existing else {"citizenship": [], "citizenship_status": "undetermined"}))
        parents = []
        for status, pid in ((event.mother_status, event.mother_person_id), (event.father_status, event.father_person_id)):
            nationality = parent_nationality(status, await persons.get(pid) if pid else None)
            if nationality is not None:
                parents.append(nationality)
        flagged_on = max(_day(envelope), event.birth_date)
        raised = await self._use_cases(uow).raise_flag_for_birth(
            child_id=event.child_person_id, birth_date=event.birth_date, born_in_kazakhstan=event.born_in_kazakhstan,
            foundling=event.foundling, parents=parents, parents_reside_permanently=event.parents_reside_permanently,
            flagged_on=flagged_on,
        )
        if raised is None:
            return
        flag = raised.aggregate
        await self._open_ex_officio(uow, person_id=event.child_person_id, reason=OpeningReason.CHILD_AT_RISK,
                                    on=flagged_on, birth_date=event.birth_date, envelope=envelope,
                                    note=f"child at risk of statelessness: {flag.rule.value} (flag {flag.flag_id})")

    async def legal_status_changed(self, event: reg.LegalStatusChanged, envelope: Envelope, uow: UnitOfWork) -> None:
        persons = Persons(uow.session)
        if await persons.get(event.person_id) is not None:
            await persons.upsert(event.person_id, legal_status=event.status[:60])

    async def persons_merged(self, event: reg.PersonsMerged, envelope: Envelope, uow: UnitOfWork) -> None:
        await self._use_cases(uow).persons_merged(event.merged_person_id, event.surviving_person_id)

    async def person_deceased(self, event: reg.PersonDeceased, envelope: Envelope, uow: UnitOfWork) -> None:
        """A registered person died: their determination case closes (`closed_on_death`)."""
        await self._use_cases(uow).person_died(event.person_id, event.died_on)

    async def application_lodged(self, event: rsd.ApplicationLodged, envelope: Envelope, uow: UnitOfWork) -> None:
        persons = Persons(uow.session)
        for pid in dict.fromkeys([event.person_id, *event.member_ids]):
            await persons.record_claim(pid, event.application_id, "asylum_seeker")

    async def decision_issued(self, event: rsd.DecisionIssued, envelope: Envelope, uow: UnitOfWork) -> None:
        persons = Persons(uow.session)
        members = list(dict.fromkeys([event.person_id, *event.member_ids]))
        status = "refugee" if event.outcome == "recognised" else "rejected"
        for pid in members:
            await persons.record_claim(pid, event.application_id, status)
        if event.outcome != "rejected":
            return
        for pid in members:
            person = await persons.get(pid)
            if Persons.without_nationality(person):
                await self._open_ex_officio(
                    uow, person_id=pid, reason=OpeningReason.RSD_REJECTED_WITHOUT_NATIONALITY, on=event.decided_on,
                    birth_date=person.birth_date if person else None, envelope=envelope,
                    note=f"asylum application {event.application_id} rejected; no nationality on record",
                )

    async def appeal_decided(self, event: rsd.AppealDecided, envelope: Envelope, uow: UnitOfWork) -> None:
        """The deprecated v1, still handled for events published before v2 (rsd now publishes both; they record
        the same claims). Its `outcome` is seen from the appellant: `upheld` = the appeal was allowed."""
        result = AppealOutcome(event.result) if event.result else (
            AppealOutcome.ALLOWED if event.outcome == "upheld" else AppealOutcome.REJECTED)
        members = list(dict.fromkeys(event.member_ids)) if event.against == "ending" else list(
            dict.fromkeys([event.person_id, *event.member_ids]))
        await self._appeal_decided(uow, event.application_id, event.against or "decision", result, members,
                                   members if result is AppealOutcome.ALLOWED else [])

    async def appeal_decided_v2(self, event: rsd.AppealDecidedV2, envelope: Envelope, uow: UnitOfWork) -> None:
        await self._appeal_decided(uow, event.application_id, event.against, event.result,
                                   list(dict.fromkeys(event.member_ids)), list(dict.fromkeys(event.allowed_member_ids)))

    async def _appeal_decided(self, uow: UnitOfWork, application_id: str, against: str, result: AppealOutcome,
                              concerned: list[str], allowed: list[str]) -> None:
        persons = Persons(uow.session)
        if against == "ending":
            # an appeal against a decision ending status: allowed restores exactly the members named; rejected
            # leaves the claim as it was (an ending is not a rejection of the asylum claim, and the principal may
            # still hold status when only a family member's status ended)
            for pid in allowed if result is AppealOutcome.ALLOWED else ():
                await persons.record_claim(pid, application_id, "refugee")
            return
        for pid in concerned:
            status = ("asylum_seeker" if result is AppealOutcome.REMITTED
                      else "refugee" if result is AppealOutcome.ALLOWED and pid in allowed else "rejected")
            await persons.record_claim(pid, application_id, status)
