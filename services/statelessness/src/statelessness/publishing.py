"""Domain events -> the published contract (pana_events). What others may know, no more:
inquiries, evidence and interviews stay inside this service."""

from __future__ import annotations

from pana_events.events import statelessness as contract

from .domain import ChildAtRiskFlag, DeterminationCase, NaturalizationTrack
from .domain import events as domain


def case_contract_events(case: DeterminationCase, recorded: list) -> list[contract.Event]:
    out: list[contract.Event] = []
    for event in recorded:
        match event:
            case domain.CaseOpened():
                out.append(contract.CaseOpened(case_id=event.case_id, person_id=event.person_id, reason=event.reason,
                                               ex_officio=event.ex_officio, opened_on=event.opened_on,
                                               decision_due=event.decision_due))
            case domain.StatelessnessDetermined() if event.outcome == "not_stateless":
                out.append(contract.StatelessnessDetermined(
                    case_id=event.case_id, person_id=event.person_id, outcome="not_stateless",
                    nationality=event.nationality if event.nationality and len(event.nationality) == 3 else None,
                    decided_on=event.decided_on, certificate_eligible=False, stage="first_instance",
                ))
            case domain.PersonRecognisedStateless():
                # Registration issues the stateless person certificate (16+, valid 5 years) from this.
                out.append(contract.StatelessnessDetermined(
                    case_id=event.case_id, person_id=event.person_id, outcome="stateless", nationality=None,
                    decided_on=event.recognised_on, certificate_eligible=bool(event.meets_certificate_age),
                    stage="appeal" if case.appeal is not None else "first_instance",
                    certificate_age_from=event.certificate_age_from,
                    certificate_validity_years=event.certificate_validity_years,
                ))
    return out


def flag_contract_events(flag: ChildAtRiskFlag, recorded: list) -> list[contract.Event]:
    out: list[contract.Event] = []
    for event in recorded:
        match event:
            case domain.ChildFlaggedAtRisk():
                out.append(contract.ChildFlaggedAtRisk(flag_id=event.flag_id, child_person_id=event.child_id,
                                                       rule=event.rule, flagged_on=event.flagged_on,
                                                       presumed_kazakh_citizen=event.presumed_kazakh_citizen))
            case domain.ChildAtRiskResolved():
                out.append(contract.ChildAtRiskResolved(flag_id=event.flag_id, child_person_id=event.child_id,
                                                        nationality=event.nationality, resolved_on=event.resolved_on,
                                                        basis=event.basis))
    return out


def track_contract_events(track: NaturalizationTrack, recorded: list) -> list[contract.Event]:
    return [
        contract.NaturalizationDecided(person_id=e.person_id, outcome=e.outcome, decided_on=e.decided_on,
                                       track_id=e.track_id, case_id=track.case_id)
        for e in recorded if isinstance(e, domain.NaturalizationDecided)
    ]


def publish_case(uow, case: DeterminationCase) -> None:
    """Write the contract events of what just happened to the outbox (same transaction)."""
    for event in case_contract_events(case, case.collect_events()):
        uow.emit(event, subject=case.person_id)


def publish_flag(uow, flag: ChildAtRiskFlag) -> None:
    for event in flag_contract_events(flag, flag.collect_events()):
        uow.emit(event, subject=flag.child_id)


def publish_track(uow, track: NaturalizationTrack) -> None:
    for event in track_contract_events(track, track.collect_events()):
        uow.emit(event, subject=track.person_id)
