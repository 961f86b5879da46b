"""Journeys through the running stack for the procedure steps issue 13 added (services as processes, Kafka between).

Each journey drives the services over HTTP as officers and integrators do, and checks at each step what other
systems are told: every member's `legal_status` in registration, every issued document's verification answer, and
rsd's view where the step is rsd's (priority, late lodging, a refused closure). Steps wait for the answer; they never
sleep.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from journeys import (ANY, AS_CERT, NOT_VALID, PROCEDURE_CERT, REFUGEE_CERT, STATELESS_CERT, Family, Journey, Member, Rsd,
                      StatelessnessCase, everyone, ok, register_family, register_person, today, unique_name, verify)
from support import HTTP_TIMEOUT, group_lag, headers, read_topic, referral_body, wait_for

pytestmark = pytest.mark.e2e

LODGED_DOCS = {("principal", AS_CERT): "valid", ("spouse", AS_CERT): "valid"}


def refer(stack, **overrides) -> str:
    """A border officer's referral of one person; the person's id in registration."""
    body = referral_body(0, family_name=unique_name(), **overrides)
    r = httpx.post(stack.url("registration") + "/api/v1/border-referrals", json=body,
                   headers=headers("border-officer", purpose=None, idempotency_key=str(uuid.uuid4())),
                   timeout=HTTP_TIMEOUT)
    return ok(r, 201)["person_id"]


def rsd_view(app: Rsd, field: str, want, what: str):
    """Wait until rsd's application shows `field == want` (it follows registration through events)."""
    return wait_for(lambda: app.read()[field] == want or None, timeout=120, what=what)


def test_a_late_border_referral_is_lodged_late_in_rsd(stack):
    arrived = (today() - timedelta(days=60)).isoformat()  # well past every lodging window
    person_id = refer(stack, arrived_on=arrived)
    app = Rsd.of_person(stack, person_id)
    assert app.application["late_lodging"] is True, app.application

    on_time = Rsd.of_person(stack, refer(stack, arrived_on=today().isoformat()))
    assert on_time.application["late_lodging"] is False, on_time.application


def test_specific_needs_recorded_after_registration_give_priority_in_rsd(stack):
    person_id = refer(stack)
    app = Rsd.of_person(stack, person_id)
    assert app.application["priority"] is False, app.application

    url = f"{stack.url('registration')}/api/v1/persons/{person_id}"
    r = httpx.get(url, headers=headers("registration-officer"), timeout=HTTP_TIMEOUT)
    ok(r)
    r = httpx.patch(url, json={"specific_needs": ["survivor_of_torture"], "reason": "disclosed at the interview"},
                    headers={**headers("registration-officer", purpose=None), "If-Match": r.headers["ETag"]},
                    timeout=HTTP_TIMEOUT)
    ok(r)
    rsd_view(app, "priority", True, "rsd giving the application priority")

    # The need withdrawn again (recorded in error): priority goes with it.
    r = httpx.get(url, headers=headers("registration-officer"), timeout=HTTP_TIMEOUT)
    r = httpx.patch(url, json={"specific_needs": [], "reason": "recorded for the wrong person"},
                    headers={**headers("registration-officer", purpose=None), "If-Match": r.headers["ETag"]},
                    timeout=HTTP_TIMEOUT)
    ok(r)
    rsd_view(app, "priority", False, "rsd withdrawing the priority")


def test_an_unaccompanied_child_holds_a_certificate_of_her_own(stack):
    born = (today() - timedelta(days=15 * 365)).isoformat()
    pid = register_person(stack, given="Zahra", family_name=unique_name(), birth_date=born, sex="female",
                          citizenship=["AFG"])
    family = Family({"child": Member("child", pid, born, "m1", "principal", "female",
                                     ("unaccompanied_or_separated_child",))})
    journey = Journey(stack, family)
    Rsd.lodge(stack, family)
    journey.expect("lodging the child's claim", statuses={"child": "asylum_seeker"},
                   documents={("child", AS_CERT): "valid"})
    journey.finish()


def test_contact_after_a_missed_interview_keeps_the_file_open(stack):
    family = register_family(stack, with_spouse=False, with_child=False)
    principal = family["principal"]
    journey = Journey(stack, family)
    app = Rsd.lodge(stack, family, on=today() - timedelta(days=60))
    journey.expect("lodging", statuses={"principal": "asylum_seeker"}, documents={("principal", AS_CERT): "valid"})

    missed = today() - timedelta(days=50)
    contact = today() - timedelta(days=10)
    app.step("/interviews", {"member_id": principal.member_id, "scheduled_on": missed.isoformat(),
                             "interviewer_id": "eo-interviewer",
                             "interpreter": {"id": "int-1", "language": "prs"}}, role="eligibility-officer", subject="eo-interviewer")
    interview_id = app.application["interviews"][-1]["id"]
    app.step(f"/interviews/{interview_id}/no-show", {"on": missed.isoformat()},
             role="eligibility-officer", subject="eo-interviewer")
    app.step("/contacts", {"kind": "phone", "on": contact.isoformat(), "note": "in hospital, will come"},
             role="eligibility-officer", subject="eo-lodging")

    refused = app.attempt("/closure", {"reason": "abandonment", "on": today().isoformat()},
                          role="supervisor", subject="sup-manager")
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["rule"] == "abandonment_despite_contact", refused.text
    assert app.read()["status"] != "closed", app.application
    journey.expect("the refused closure", statuses={"principal": "asylum_seeker"},
                   documents={("principal", AS_CERT): "valid"})
    journey.finish()


def test_a_newborn_added_to_a_pending_application_becomes_an_asylum_seeker(stack):
    family = register_family(stack, with_child=False)
    journey = Journey(stack, family)
    app = Rsd.lodge(stack, family)
    journey.expect("lodging", statuses=everyone(family, "asylum_seeker"), documents=LODGED_DOCS)

    born = today().isoformat()
    pid = register_person(stack, given="Nurlan", family_name=unique_name(), birth_date=born, sex="male",
                          citizenship=["AFG"])
    app.step("/members", {"person_id": pid, "name": "Nurlan", "sex": "male", "birth_date": born},
             role="eligibility-officer", subject="eo-lodging")
    [member_id] = [m["id"] for m in app.application["members"] if m["person_id"] == pid]
    family.members["newborn"] = Member("newborn", pid, born, member_id, "child", "male")
    journey.expect("adding the newborn", statuses=everyone(family, "asylum_seeker"), documents=LODGED_DOCS,
                   optional={("newborn", AS_CERT): "valid"})
    journey.finish()


def test_a_lost_refugee_certificate_is_replaced_and_its_number_revoked(stack):
    family = register_family(stack, with_spouse=False, with_child=False)
    principal = family["principal"]
    journey = Journey(stack, family)
    app = Rsd.lodge(stack, family)
    app.recognise(family)
    journey.expect("recognition", statuses={"principal": "refugee"}, documents={("principal", REFUGEE_CERT): "valid"},
                   optional={("principal", AS_CERT): NOT_VALID})

    listed = f"{stack.url('registration')}/api/v1/persons/{principal.person_id}/documents"
    items = ok(httpx.get(listed, headers=headers("registration-officer"), timeout=HTTP_TIMEOUT))["items"]
    [old] = [d for d in items if d["kind"] == REFUGEE_CERT and d["status"] == "valid"]
    r = httpx.post(f"{listed}/{old['document_id']}/replacement", json={"reason": "lost", "note": "lost on the bus"},
                   headers=headers("registration-officer", purpose=None, idempotency_key=str(uuid.uuid4())),
                   timeout=HTTP_TIMEOUT)
    done = ok(r, 201)
    new = done["issued"]
    assert new["number"] != old["number"] and new["kind"] == REFUGEE_CERT, done
    assert verify(stack, new["number"], principal.birth_date) == "valid"
    assert verify(stack, old["number"], principal.birth_date) == "revoked"
    journey.finish()


def _birth(stack, mother_id: str, surname: str) -> str:
    """A child born in Kazakhstan two days ago to this mother alone; the child's person id."""
    r = httpx.post(stack.url("registration") + "/api/v1/households", json={"focal_person_id": mother_id, "members": []},
                   headers=headers("registration-officer", purpose=None, idempotency_key=str(uuid.uuid4())),
                   timeout=HTTP_TIMEOUT)
    household = ok(r, 201)["household_id"]
    r = httpx.post(f"{stack.url('registration')}/api/v1/households/{household}/births", json={
        "given_name": "Aruzhan", "family_name": surname, "birth_date": (today() - timedelta(days=2)).isoformat(),
        "sex": "female", "place_of_birth": "Almaty", "born_in_kazakhstan": True, "mother_person_id": mother_id,
        "medical_birth_certificate_number": f"MBC-{uuid.uuid4().hex[:8]}",
    }, headers=headers("registration-officer", purpose=None, idempotency_key=str(uuid.uuid4())), timeout=HTTP_TIMEOUT)
    return ok(r, 201)["person_id"]


def _flags(stack, child_id: str) -> list[dict]:
    r = httpx.get(stack.url("statelessness") + "/api/v1/children-at-risk", params={"child_person_id": child_id},
                  headers=headers("statelessness-officer"), timeout=HTTP_TIMEOUT)
    return ok(r)["items"]


def _statelessness_has_handled_birth(stack, child_id: str) -> None:
    """Wait until registration has published the child's birth and statelessness has handled all it was sent."""
    def published():
        return any(dict(rec.headers or ()).get("ce_type") == b"registration.birth.recorded.v1"
                   and child_id.encode() in (rec.value or b"")
                   for rec in read_topic(stack.kafka_bootstrap, "registration.events", timeout=120))
    wait_for(published, timeout=120, what="the birth published by registration")
    wait_for(lambda: group_lag(stack.kafka_bootstrap, "statelessness", ["registration.events"]) == 0, timeout=120,
             what="statelessness caught up with registration's events")


@pytest.mark.parametrize("finding", ["not_stateless", "stateless"])
def test_a_childs_risk_follows_the_mothers_determination(stack, finding):
    """A mother found not stateless is a national of some State: her child born here is not at risk. Found
    stateless, the child is at risk as a child of stateless parents (the ground for presumed citizenship)."""
    born, surname = "1993-05-17", unique_name()
    mother = register_person(stack, given="Gulnara", family_name=surname, birth_date=born, sex="female",
                             citizenship=["XXA"])
    family = Family({"mother": Member("mother", mother, born, "m1", "principal", "female")})
    journey = Journey(stack, family)
    details = {"nationality": "UZB", "reasons": "UZB confirmed her citizenship",
               "confirmed_nationality_reasons": "UZB confirmed her citizenship"} \
        if finding == "not_stateless" else {"reasons": "no State considers her a national"}
    StatelessnessCase(stack, mother, born).determine(finding, **details)
    wanted = {"stateless": "stateless", "not_stateless": "not_stateless"}[finding]
    journey.expect(f"the mother found {finding}", statuses={"mother": wanted},
                   documents={("mother", STATELESS_CERT): "valid"} if finding == "stateless" else {},
                   optional={("mother", PROCEDURE_CERT): ANY})  # the papers' succession: test_journeys_status

    child = _birth(stack, mother, surname)
    if finding == "stateless":
        [flag] = wait_for(lambda: _flags(stack, child), timeout=120, what="the child flagged at risk")
        assert flag["rule"] == "stateless_parents", flag
    else:
        _statelessness_has_handled_birth(stack, child)
        assert _flags(stack, child) == [], "a child of a mother found not stateless is flagged at risk"
    journey.finish()
