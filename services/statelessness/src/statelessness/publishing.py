"""Domain events -> the published contract (pana_events). What others may know, no more:
inquiries, evidence and interviews stay inside this service.

Each function is a publisher for `pana_kit.application`: (aggregate, the domain events it
recorded) -> (contract event, subject) pairs; the subject is the person the event concerns.
"""

from __future__ import annotations

from collections.abc import Iterator

from pana_events.events import statelessness as contract

from .domain import ChildAtRiskFlag, DeterminationCase, NaturalizationTrack
from .domain import events as domain


def case_events(case: DeterminationCase, recorded: list) -> Iterator[tuple[contract.Event, str]]:
    for event in recorded:
        match event:
            case domain.CaseOpened():
                yield contract.CaseOpened(case_id=event.case_id, person_id=event.person_id, reason=event.reason,
                                          ex_officio=event.ex_officio, opened_on=event.opened_on,
                                          decision_due=event.decision_due), case.person_id
            case domain.StatelessnessDetermined() if event.outcome == "not_stateless":
                yield contract.StatelessnessDetermined(
                    case_id=event.case_id, person_id=event.person_id, outcome="not_stateless",
                    nationality=event.nationality if event.nationality and len(event.nationality) == 3 else None,
                    decided_on=event.decided_on, certificate_eligible=False, stage="first_instance",
                    appeal_until=event.appeal_until,
                ), case.person_id
            case domain.DecisionDeadlineExtended():  # the procedure goes on: lawful stay for it is renewed
                yield contract.DecisionPeriodExtended(case_id=event.case_id, person_id=event.person_id,
                                                      decision_due=event.decision_due,
                                                      extended_on=event.extended_on), case.person_id
            case domain.AppealLodged():  # the not-stateless determination is not final
                yield contract.AppealLodged(case_id=event.case_id, person_id=event.person_id,
                                            lodged_on=event.lodged_on), case.person_id
            case domain.AppealDecided():  # in the one vocabulary; an allowed appeal's determination follows
                if event.outcome == "rejected":
                    # The not-stateless determination is final: published as the appeal's determination too
                    # (`appeal_result` `rejected`), on which registration ends the procedure's papers.
                    nationality = case.determination.nationality if case.determination else None
                    yield contract.StatelessnessDetermined(
                        case_id=event.case_id, person_id=event.person_id, outcome="not_stateless",
                        nationality=nationality if nationality and len(nationality) == 3 else None,
                        decided_on=event.decided_on, certificate_eligible=False, stage="appeal",
                        appeal_result="rejected",
                    ), case.person_id
                yield contract.AppealDecided(case_id=event.case_id, person_id=event.person_id,
                                             appeal_id=event.appeal_id, result=event.outcome,
                                             decided_on=event.decided_on), case.person_id
            case domain.PersonRecognisedStateless():
                # Registration issues the stateless person certificate (16+, valid 5 years) from this.
                yield contract.StatelessnessDetermined(
                    case_id=event.case_id, person_id=event.person_id, outcome="stateless", nationality=None,
                    decided_on=event.recognised_on, certificate_eligible=bool(event.meets_certificate_age),
                    stage="appeal" if case.appeal is not None else "first_instance",
                    appeal_result=case.appeal.outcome if case.appeal and case.appeal.outcome else None,
                    certificate_age_from=event.certificate_age_from,
                    certificate_validity_years=event.certificate_validity_years,
                ), case.person_id


def flag_events(flag: ChildAtRiskFlag, recorded: list) -> Iterator[tuple[contract.Event, str]]:
    for event in recorded:
        match event:
            case domain.ChildFlaggedAtRisk():
                yield contract.ChildFlaggedAtRisk(flag_id=event.flag_id, child_person_id=event.child_id,
                                                  rule=event.rule, flagged_on=event.flagged_on,
                                                  presumed_kazakh_citizen=event.presumed_kazakh_citizen), flag.child_id
            case domain.ChildAtRiskResolved():
                yield contract.ChildAtRiskResolved(flag_id=event.flag_id, child_person_id=event.child_id,
                                                   nationality=event.nationality, resolved_on=event.resolved_on,
                                                   basis=event.basis), flag.child_id


def track_events(track: NaturalizationTrack, recorded: list) -> Iterator[tuple[contract.Event, str]]:
    for event in recorded:
        if isinstance(event, domain.NaturalizationDecided):
            yield contract.NaturalizationDecided(person_id=event.person_id, outcome=event.outcome,
                                                 decided_on=event.decided_on, track_id=event.track_id,
                                                 case_id=track.case_id), track.person_id
