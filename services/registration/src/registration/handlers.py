"""Consumed events -> registration's use cases (`service.py`, as system commands). Each handler runs in
one unit of work with its inbox record.

Legal status is a projection of rsd and statelessness facts; documents follow it. A fact or a
document is keyed by what it is (application, person, reason), not by the event id, so the same
fact under another event id changes nothing either.
"""

from __future__ import annotations

import hashlib
from datetime import date

from pana_events import Envelope
from pana_events.events import civil_registry as civil
from pana_events.events import rsd
from pana_events.events import statelessness as sl
from pana_events.vocabulary import AppealOutcome
from pana_kit.domain import age_on
from pana_kit.outbox import UnitOfWork

from . import service
from .domain import (
    Dependant, FactKind, IssuedDocument, IssuedDocumentKind, RegistrationRules, SpecificNeed,
    issue_asylum_seeker_certificate, issue_refugee_certificate,
    unaccompanied_minor,
)

ENDINGS = {"cessation": FactKind.REFUGEE_STATUS_CEASED, "cancellation": FactKind.REFUGEE_STATUS_CANCELLED,
           "revocation": FactKind.REFUGEE_STATUS_REVOKED}


# Closure reasons that make a rejection final (no appeal lodged in time, appeal rejected).
REJECTION_FINAL_CLOSURES = {"no_appeal", "appeal_rejected"}


def _key(*parts: str) -> str:
    """A fact's or a request's key (stored in 100 characters): the parts, or their digest when longer."""
    key = ":".join(parts)
    return key if len(key) <= 100 else f"{parts[0][:40]}:{hashlib.sha256(key.encode()).hexdigest()}"


def _members(event) -> list[str]:
    """The persons an event concerns: the `member_ids` it names, or only its subject when it names none.

    Never the principal by default: ending the spouse's status alone leaves the principal a refugee."""
    named = list(dict.fromkeys(getattr(event, "member_ids", None) or []))
    return named or [event.person_id]


def _deceased(event: rsd.ApplicationClosed) -> str:
    """Who died, for a closure on death. rsd names the deceased alone in `member_ids` (a member's death
    while the family's claim goes on, or the last member's); earlier it named every member of the file,
    with the deceased principal as `person_id`. So: the one member named, else the subject."""
    named = list(dict.fromkeys(event.member_ids or []))
    return named[0] if len(named) == 1 else event.person_id


class RegistrationHandlers:
    def __init__(self, rules: RegistrationRules):
        self.rules = rules

    def table(self) -> dict:
        return {
            rsd.ApplicationLodged.event_type: self.application_lodged,
            rsd.CertificateRequested.event_type: self.certificate_requested,
            rsd.DecisionIssued.event_type: self.decision_issued,
            rsd.AppealLodged.event_type: self.appeal_lodged,
            rsd.AppealDecided.event_type: self.appeal_decided,
            rsd.AppealDecidedV2.event_type: self.appeal_decided_v2,
            rsd.ApplicationClosed.event_type: self.application_closed,
            rsd.ApplicationReopened.event_type: self.application_reopened,
            rsd.StatusEnded.event_type: self.status_ended,
            sl.CaseOpened.event_type: self.statelessness_case_opened,
            sl.StatelessnessDetermined.event_type: self.statelessness_determined,
            sl.AppealDecided.event_type: self.statelessness_appeal_decided,
            sl.DecisionPeriodExtended.event_type: self.statelessness_extended,
            sl.AppealLodged.event_type: self.statelessness_appeal_lodged,
            sl.NaturalizationDecided.event_type: self.naturalization_decided,
            sl.ChildAtRiskResolved.event_type: self.child_at_risk_resolved,
            civil.BirthRegistered.event_type: self.birth_registered,
            civil.BirthVerified.event_type: self.birth_registered,
        }

    # --- rsd ------------------------------------------------------------------------------

    async def application_lodged(self, event: rsd.ApplicationLodged, envelope: Envelope, uow: UnitOfWork) -> None:
        on = event.registered_on or event.lodged_on
        for pid in _members(event):
            await service.add_status_fact(uow, pid, FactKind.ASYLUM_APPLICATION_REGISTERED, on, f"{event.application_id}:registered")

    async def certificate_requested(self, event: rsd.CertificateRequested, envelope: Envelope, uow: UnitOfWork) -> None:
        """Asylum-seeker certificate: adults their own, children on the parent's, a new one at each extension."""
        if event.reason == "registration":
            for pid in _members(event):
                await service.add_status_fact(uow, pid, FactKind.ASYLUM_APPLICATION_REGISTERED, event.valid_from,
                                 f"{event.application_id}:registered")
        holder = await service.registered_person(uow, event.person_id)
        if holder is None:
            return
        # One certificate per holder and request: rsd requests one for each adult of the file.
        key = _key(event.application_id, event.reason, event.valid_from.isoformat(), holder.person_id)
        if event.reason == "extension" and await service.extend_asylum_seeker_certificate(
                uow, holder, event.valid_from, key, self.rules, valid_until=event.valid_until):
            return
        children, others = [], []
        for pid in _members(event):
            if pid == holder.person_id:
                continue
            member = await service.registered_person(uow, pid)
            if member is None or member.birth_date is None:
                continue
            others.append(member.birth_date)
            if age_on(member.birth_date, event.valid_from) < self.rules.adult_age:
                children.append(Dependant(pid, member.birth_date))
        unaccompanied = (SpecificNeed.UNACCOMPANIED_OR_SEPARATED_CHILD in holder.specific_needs
                         or unaccompanied_minor(holder.birth_date, others, on=event.valid_from, rules=self.rules))

        def issue(number: str) -> IssuedDocument:
            return issue_asylum_seeker_certificate(
                number=number, holder_person_id=holder.person_id, holder_birth_date=holder.birth_date,
                registered_on=event.valid_from, rules=self.rules, children=() if unaccompanied else children,
                unaccompanied_minor=unaccompanied, valid_until=event.valid_until)
        await service.issue_document(uow, holder, IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, event.valid_from, key, issue)
        # a recognised stateless person who has reached the age and holds no stateless certificate gets it too
        await service.issue_stateless_certificate_if_due(uow, holder, event.valid_from, self.rules)

    async def decision_issued(self, event: rsd.DecisionIssued, envelope: Envelope, uow: UnitOfWork) -> None:
        if event.outcome == "recognised":
            await self._recognise(uow, event.application_id, _members(event), event.decided_on)
        else:  # still an asylum-seeker while an appeal is possible
            for pid in _members(event):
                await service.add_status_fact(uow, pid, FactKind.ASYLUM_APPLICATION_REJECTED, event.decided_on,
                                 f"{event.application_id}:rejected")

    async def appeal_lodged(self, event: rsd.AppealLodged, envelope: Envelope, uow: UnitOfWork) -> None:
        await service.add_status_fact(uow, event.person_id, FactKind.ASYLUM_APPEAL_LODGED, event.lodged_on,
                         f"{event.application_id}:appeal")

    async def appeal_decided(self, event: rsd.AppealDecided, envelope: Envelope, uow: UnitOfWork) -> None:
        """The deprecated v1, still handled for events published before v2: `result` when rsd sends it, else
        `outcome` (seen from the appellant: `upheld` = allowed). rsd now publishes v1 beside v2; both give the
        same facts under the same keys, so the pair applies once (v1 names only the recognised, or nobody)."""
        result = AppealOutcome(event.result) if event.result else (
            AppealOutcome.ALLOWED if event.outcome == "upheld" else AppealOutcome.REJECTED)
        members = _members(event)
        await self._appeal_decided(uow, event.application_id, event.against or "decision", result, members,
                                   members if result is AppealOutcome.ALLOWED else [], event.decided_on)

    async def appeal_decided_v2(self, event: rsd.AppealDecidedV2, envelope: Envelope, uow: UnitOfWork) -> None:
        """`result` in the one vocabulary; every member it concerns is named (`member_ids`), and of those the
        ones it was allowed for (`allowed_member_ids`)."""
        await self._appeal_decided(uow, event.application_id, event.against, event.result,
                                   list(dict.fromkeys(event.member_ids)), list(dict.fromkeys(event.allowed_member_ids)),
                                   event.decided_on)

    async def _appeal_decided(self, uow: UnitOfWork, application_id: str, against: str, result: AppealOutcome,
                              concerned: list[str], allowed: list[str], on: date) -> None:
        if against == "ending":
            if result is AppealOutcome.ALLOWED:  # the ending is set aside: refugee status restored
                await self._recognise(uow, application_id, allowed, on, key=f"restored:{on.isoformat()}")
            return  # an ending upheld leaves the ended status as it is
        if result is AppealOutcome.ALLOWED:
            await self._recognise(uow, application_id, allowed, on)
            final = [pid for pid in concerned if pid not in allowed]  # not recognised on appeal either
        elif result is AppealOutcome.REMITTED:  # back to first instance: still an asylum-seeker
            for pid in concerned:
                await service.add_status_fact(uow, pid, FactKind.ASYLUM_APPEAL_REMITTED, on,
                                              f"{application_id}:remitted:{on.isoformat()}")
            return
        else:
            final = concerned
        for pid in final:
            await service.add_status_fact(uow, pid, FactKind.ASYLUM_REJECTION_FINAL, on,
                                          f"{application_id}:rejection-final")

    async def application_closed(self, event: rsd.ApplicationClosed, envelope: Envelope, uow: UnitOfWork) -> None:
        """Death: only the deceased is recorded as dead (every document of theirs ends); the other members'
        status and documents stay. No appeal / appeal rejected: the rejection is final. Else (withdrawal,
        abandonment): the named members' asylum procedure is closed."""
        if event.reason == "death":
            deceased = _deceased(event)
            await service.add_status_fact(uow, deceased, FactKind.DIED, event.closed_on,
                                          _key(event.application_id, "died", deceased))
            return
        kind, key = ((FactKind.ASYLUM_REJECTION_FINAL, "rejection-final") if event.reason in REJECTION_FINAL_CLOSURES
                     else (FactKind.ASYLUM_CASE_CLOSED, "closed"))
        for pid in _members(event):
            await service.add_status_fact(uow, pid, kind, event.closed_on, f"{event.application_id}:{key}")

    async def application_reopened(self, event: rsd.ApplicationReopened, envelope: Envelope, uow: UnitOfWork) -> None:
        await service.add_status_fact(uow, event.person_id, FactKind.CASE_REOPENED, event.reopened_on,
                         f"{event.application_id}:reopened:{event.reopened_on.isoformat()}")

    async def status_ended(self, event: rsd.StatusEnded, envelope: Envelope, uow: UnitOfWork) -> None:
        for pid in _members(event):
            # Keyed by date too: a member whose status an appeal restored may have it ended again.
            await service.add_status_fact(uow, pid, ENDINGS[event.ending], event.ended_on,
                                          f"{event.application_id}:ended:{event.ended_on.isoformat()}")

    async def _recognise(self, uow: UnitOfWork, application_id: str, person_ids: list[str], on: date,
                         key: str = "recognised") -> None:
        for pid in person_ids:
            await service.add_status_fact(uow, pid, FactKind.REFUGEE_STATUS_RECOGNISED, on, f"{application_id}:{key}")
            holder = await service.registered_person(uow, pid)
            if holder is None:
                continue

            def issue(number: str, holder=holder) -> IssuedDocument:
                return issue_refugee_certificate(number=number, holder_person_id=holder.person_id,
                                                 holder_birth_date=holder.birth_date, issued_on=on, rules=self.rules)
            request = (application_id, "refugee", pid) + (() if key == "recognised" else (key,))
            await service.issue_document(uow, holder, IssuedDocumentKind.REFUGEE_CERTIFICATE, on, _key(*request), issue)

    # --- statelessness --------------------------------------------------------------------

    async def statelessness_case_opened(self, event: sl.CaseOpened, envelope: Envelope, uow: UnitOfWork) -> None:
        """A stateless applicant: the status, and the paper confirming identity and lawful stay for the procedure."""
        await service.add_status_fact(uow, event.person_id, FactKind.STATELESSNESS_APPLICATION_LODGED, event.opened_on,
                         f"{event.case_id}:opened")
        await self._procedure_certificate(uow, event.person_id, event.opened_on, _key(event.case_id, "procedure"))

    async def statelessness_extended(self, event: sl.DecisionPeriodExtended, envelope: Envelope,
                                     uow: UnitOfWork) -> None:
        """The procedure goes on: its lawful-stay paper is renewed from the day of the extension."""
        await self._procedure_certificate(uow, event.person_id, event.extended_on,
                                          _key(event.case_id, "procedure", "extended", event.decision_due.isoformat()))

    async def statelessness_appeal_lodged(self, event: sl.AppealLodged, envelope: Envelope, uow: UnitOfWork) -> None:
        """The not-stateless determination is not final: an applicant again, with a paper for the appeal."""
        await service.add_status_fact(uow, event.person_id, FactKind.STATELESSNESS_APPEAL_LODGED, event.lodged_on,
                                      f"{event.case_id}:appeal-lodged")
        await self._procedure_certificate(uow, event.person_id, event.lodged_on,
                                          _key(event.case_id, "procedure", "appeal"))

    async def _procedure_certificate(self, uow: UnitOfWork, person_id: str, on: date, key: str,
                                     valid_until: date | None = None) -> None:
        holder = await service.registered_person(uow, person_id)
        if holder is not None:
            await service.statelessness_procedure_certificate(uow, holder, on, key, self.rules, valid_until)

    async def statelessness_determined(self, event: sl.StatelessnessDetermined, envelope: Envelope,
                                       uow: UnitOfWork) -> None:
        stage = event.stage or "first_instance"
        if event.outcome == "not_stateless":
            # On appeal the determination is final (its paper ends); at first instance the person may appeal until
            # `appeal_until`, and the procedure's paper runs to that day.
            final = stage == "appeal"
            await service.add_status_fact(
                uow, event.person_id, FactKind.STATELESSNESS_REJECTION_FINAL if final else FactKind.STATELESSNESS_REJECTED,
                event.decided_on, f"{event.case_id}:{stage}")
            if not final and event.appeal_until is not None:
                await self._procedure_certificate(uow, event.person_id, event.decided_on,
                                                  _key(event.case_id, "procedure", "appeal-window"),
                                                  valid_until=event.appeal_until)
            return
        await service.add_status_fact(uow, event.person_id, FactKind.STATELESSNESS_DETERMINED, event.decided_on,
                         f"{event.case_id}:{stage}")
        holder = await service.registered_person(uow, event.person_id)
        if holder is not None:  # from 16 and when they hold none (`stateless_certificate_due`); a child's comes
            # at 16 from the daily pass, until then the determination itself is the proof
            await service.issue_stateless_certificate_if_due(uow, holder, event.decided_on, self.rules)

    async def statelessness_appeal_decided(self, event: sl.AppealDecided, envelope: Envelope,
                                           uow: UnitOfWork) -> None:
        """`rejected`: the not-stateless determination is final (the same status, its history says so);
        `allowed`: the appeal determination (statelessness.determination.issued.v1, `stage` `appeal`) that
        follows recognises the person; `remitted`: a stateless applicant again, awaiting a new determination."""
        if event.result is AppealOutcome.REJECTED:  # the same fact, under the same key, as the final determination
            await service.add_status_fact(uow, event.person_id, FactKind.STATELESSNESS_REJECTION_FINAL,
                                          event.decided_on, f"{event.case_id}:appeal")
        elif event.result is AppealOutcome.REMITTED:
            await service.add_status_fact(uow, event.person_id, FactKind.STATELESSNESS_APPLICATION_LODGED,
                                          event.decided_on, f"{event.case_id}:remitted:{event.decided_on.isoformat()}")

    async def naturalization_decided(self, event: sl.NaturalizationDecided, envelope: Envelope,
                                     uow: UnitOfWork) -> None:
        if event.outcome == "granted":
            await service.add_status_fact(uow, event.person_id, FactKind.NATURALIZED, event.decided_on,
                             f"{event.track_id or event.case_id or envelope.id}:naturalized")

    async def child_at_risk_resolved(self, event: sl.ChildAtRiskResolved, envelope: Envelope,
                                     uow: UnitOfWork) -> None:
        """A child found a Kazakh citizen by birth is a citizen: shown as `citizen`, and any protection document
        ends (acquiring citizenship ends protection need). Another State's nationality changes nothing here."""
        if event.nationality == "KAZ":
            await service.add_status_fact(uow, event.child_person_id, FactKind.CITIZENSHIP_CONFIRMED,
                                          event.resolved_on, f"{event.flag_id}:citizen")

    # --- civil registry --------------------------------------------------------------------

    async def birth_registered(self, event, envelope: Envelope, uow: UnitOfWork) -> None:
        """The child's birth certificate number and IIN, as the civil registry holds them."""
        if event.child_person_id:
            await service.record_civil_registration(uow, event.child_person_id,
                                                    certificate_number=event.certificate_number, iin=event.iin)
