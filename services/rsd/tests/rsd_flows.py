"""Builders shared by the rsd domain tests."""

from __future__ import annotations

from datetime import date

from rsd.domain import (Application, ArrivalManner, Assessment, Ground, Interpreter, Member, Outcome,
                        Relationship, RejectionReason, Sex)

D0 = date(2025, 1, 6)  # arrival
D1 = date(2025, 1, 8)  # lodged
D2 = date(2025, 1, 10)  # registered


def principal(**kw) -> Member:
    base = dict(id="m1", person_id="p1", relationship=Relationship.PRINCIPAL, sex=Sex.FEMALE,
                birth_date=date(1990, 5, 1))
    base.update(kw)
    return Member(**base)


def spouse(**kw) -> Member:
    base = dict(id="m2", person_id="p2", relationship=Relationship.SPOUSE, sex=Sex.MALE,
                birth_date=date(1988, 3, 3))
    base.update(kw)
    return Member(**base)


def child(**kw) -> Member:
    base = dict(id="m3", person_id="p3", relationship=Relationship.CHILD, sex=Sex.MALE,
                birth_date=date(2018, 2, 2))
    base.update(kw)
    return Member(**base)


def lodged(family=None, rules=None, **kw) -> Application:
    args = dict(application_id="a1", office="Almaty", principal=principal(), lodged_on=D1, arrived_on=D0,
                manner_of_arrival=ArrivalManner.REGULAR, officer_id="eo1", family=family, rules=rules)
    args.update(kw)
    return Application.lodge(**args)


def registered(**kw) -> Application:
    app = lodged(**kw)
    app.register(on=D2)
    return app


def interpreter(**kw) -> Interpreter:
    base = dict(id="int1", language="dari", dialect="kabuli", sex=Sex.FEMALE)
    base.update(kw)
    return Interpreter(**base)


def interviewed(app: Application, member_id: str = "m1", on: date = date(2025, 2, 3)) -> Application:
    iid = f"i-{member_id}-{len(app.interviews)}"
    app.schedule_interview(interview_id=iid, member_id=member_id, scheduled_on=on, interviewer_id="eo1",
                           interviewer_sex=Sex.FEMALE, interpreter=interpreter())
    app.record_interview_held(iid, on=on)
    return app


def meets(member_id: str = "m1", **kw) -> Assessment:
    base = dict(member_id=member_id, assessed_by="eo1", assessed_on=date(2025, 2, 10), outside_country=True,
                well_founded_fear=True, persecution=True, nexus_grounds=frozenset({Ground.POLITICAL_OPINION}),
                no_state_protection=True)
    base.update(kw)
    return Assessment(**base)


def fails(member_id: str = "m1") -> Assessment:
    return Assessment(member_id=member_id, assessed_by="eo1", assessed_on=date(2025, 2, 10), outside_country=True)


def decided(outcome: Outcome = Outcome.REJECTED, notify_on: date | None = date(2025, 3, 3), **kw) -> Application:
    app = interviewed(registered(**kw))
    app.record_assessment(meets() if outcome is Outcome.RECOGNISED else fails())
    reasons = (RejectionReason.HARM_NOT_PERSECUTION,) if outcome is Outcome.REJECTED else ()
    app.recommend(officer_id="eo1", outcome=outcome, on=date(2025, 2, 20), rejection_reasons=reasons)
    app.issue_decision(decided_by="sup1", on=date(2025, 3, 1))
    if notify_on:
        app.serve_notification(on=notify_on, language="dari")
    return app


def event_types(app: Application) -> list[str]:
    return [type(e).__name__ for e in app.pending_events]

import contextlib  # noqa: E402

import pytest  # noqa: E402
from pana_kit.domain import RuleViolation  # noqa: E402


@contextlib.contextmanager
def refused(rule: str):
    with pytest.raises(RuleViolation) as info:
        yield info
    assert info.value.rule == rule, info.value.rule
    assert info.value.detail
