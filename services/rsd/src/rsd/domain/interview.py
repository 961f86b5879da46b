"""Interviews: mandatory for the principal applicant, with interpreter and safeguards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from pana_kit.domain import InvalidInput, RuleViolation

from .events import InterviewHeld, InterviewMissed, InterviewRescheduled, InterviewScheduled
from .members import Member, Sex


class InterviewStatus(str, Enum):
    SCHEDULED = "scheduled"
    HELD = "held"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


@dataclass(kw_only=True)
class Interpreter:
    id: str
    language: str
    dialect: str | None = None
    sex: Sex | None = None


@dataclass(kw_only=True)
class Rescheduling:
    from_date: date
    to_date: date
    reason: str
    on: date


@dataclass(kw_only=True)
class Interview:
    id: str
    member_id: str
    scheduled_on: date
    interviewer_id: str
    interviewer_sex: Sex | None
    interpreter: Interpreter
    legal_representative_id: str | None = None
    legal_representative_consent: bool = False
    status: InterviewStatus = InterviewStatus.SCHEDULED
    held_on: date | None = None
    missed_on: date | None = None
    reschedulings: list[Rescheduling] = field(default_factory=list)


def check_interview_safeguards(
    member: Member,
    interviewer_sex: Sex | None,
    interpreter: Interpreter,
    legal_representative_id: str | None,
    legal_representative_consent: bool,
) -> None:
    """Raise for an interview arrangement the standards forbid."""
    if not interpreter.language.strip():
        raise InvalidInput("an interpreter's language is required at every interview")
    if member.same_gender_interviewer_requested and (member.sex is None or interviewer_sex != member.sex):
        raise RuleViolation(
            rule="same_gender_interviewer",
            detail="the applicant asked for an interviewer of the same gender; this interviewer is not",
        )
    if member.same_gender_interpreter_requested and (member.sex is None or interpreter.sex != member.sex):
        raise RuleViolation(
            rule="same_gender_interpreter",
            detail="the applicant asked for an interpreter of the same gender; this interpreter is not",
        )
    if legal_representative_id is not None:
        if legal_representative_id == interpreter.id:
            raise RuleViolation(
                rule="legal_representative_not_interpreter",
                detail="a legal representative may attend the interview but may not interpret",
            )
        if not legal_representative_consent:
            raise RuleViolation(
                rule="legal_representative_consent",
                detail="a legal representative attends only with the applicant's signed consent form",
            )


class InterviewSteps:
    """Interview commands of the Application (mixed into the aggregate)."""

    def schedule_interview(
        self,
        *,
        interview_id: str,
        member_id: str,
        scheduled_on: date,
        interviewer_id: str,
        interviewer_sex: Sex | None,
        interpreter: Interpreter,
        legal_representative_id: str | None = None,
        legal_representative_consent: bool = False,
    ) -> Interview:
        self._require_first_instance("schedule an interview")
        member = self.member(member_id)
        if any(i.id == interview_id for i in self.interviews):
            raise InvalidInput(f"interview {interview_id} already exists")
        if scheduled_on < self.registered_on:
            raise RuleViolation(rule="interview_after_registration",
                                detail="an interview cannot be set before the application is registered")
        check_interview_safeguards(member, interviewer_sex, interpreter,
                                   legal_representative_id, legal_representative_consent)
        interview = Interview(
            id=interview_id, member_id=member_id, scheduled_on=scheduled_on,
            interviewer_id=interviewer_id, interviewer_sex=interviewer_sex, interpreter=interpreter,
            legal_representative_id=legal_representative_id,
            legal_representative_consent=legal_representative_consent,
        )
        self.interviews.append(interview)
        self.record(InterviewScheduled(self.id, interview_id, member_id, scheduled_on, interviewer_id,
                                       interpreter.language, interpreter.dialect))
        return interview

    def interview(self, interview_id: str) -> Interview:
        for interview in self.interviews:
            if interview.id == interview_id:
                return interview
        raise InvalidInput(f"no interview {interview_id} on application {self.id}")

    def _scheduled(self, interview_id: str) -> Interview:
        interview = self.interview(interview_id)
        if interview.status is not InterviewStatus.SCHEDULED:
            raise RuleViolation(rule="interview_not_scheduled",
                                detail=f"the interview is {interview.status.value}, not scheduled")
        return interview

    def reschedule_interview(self, interview_id: str, *, to_date: date, reason: str, on: date,
                             interviewer_id: str | None = None, interviewer_sex: Sex | None = None,
                             interpreter: Interpreter | None = None) -> Interview:
        self._require_first_instance("reschedule an interview")
        interview = self._scheduled(interview_id)
        if not reason.strip():
            raise RuleViolation(rule="reschedule_reason", detail="an interview is rescheduled only with a reason")
        new_interviewer = interviewer_id or interview.interviewer_id
        new_sex = interviewer_sex if interviewer_id else interview.interviewer_sex
        new_interpreter = interpreter or interview.interpreter
        check_interview_safeguards(self.member(interview.member_id), new_sex, new_interpreter,
                                   interview.legal_representative_id, interview.legal_representative_consent)
        interview.reschedulings.append(Rescheduling(from_date=interview.scheduled_on, to_date=to_date,
                                                    reason=reason, on=on))
        self.record(InterviewRescheduled(self.id, interview_id, interview.scheduled_on, to_date))
        interview.scheduled_on = to_date
        interview.interviewer_id, interview.interviewer_sex = new_interviewer, new_sex
        interview.interpreter = new_interpreter
        return interview

    def record_interview_held(self, interview_id: str, *, on: date) -> Interview:
        self._require_first_instance("hold an interview")
        interview = self._scheduled(interview_id)
        interview.status, interview.held_on = InterviewStatus.HELD, on
        self.last_contact_on = max(self.last_contact_on or on, on)
        self.record(InterviewHeld(self.id, interview_id, interview.member_id, on))
        return interview

    def record_no_show(self, interview_id: str, *, on: date) -> Interview:
        self._require_first_instance("record a missed interview")
        interview = self._scheduled(interview_id)
        interview.status, interview.missed_on = InterviewStatus.NO_SHOW, on
        self.record(InterviewMissed(self.id, interview_id, interview.member_id, on))
        return interview

    def principal_interview_held(self) -> bool:
        principal = self.principal
        return any(i.member_id == principal.id and i.status is InterviewStatus.HELD for i in self.interviews)
