"""Journeys for the family and procedure papers issue 13 asked for, through the running stack.

A family referred together at the border, the papers a statelessness applicant holds while the procedure runs,
a child's refugee certificate after the principal's death, and citizenship ending protection. At each step every
member's `legal_status` and every announced document's verification answer are checked (tests/journeys.py).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from journeys import (AS_CERT, NOT_VALID, PROCEDURE_CERT, REFUGEE_CERT, STATELESS_CERT, Family, Journey, Member, Rsd,
                      StatelessnessCase, everyone, ok, register_family, register_person, today, unique_name)
from support import HTTP_TIMEOUT, headers

pytestmark = pytest.mark.e2e

GROUP = (("principal", "Farid", "1984-03-14", "male"), ("spouse", "Mariam", "1988-09-02", "female"),
         ("child", "Omid", "2016-06-20", "male"))


def group_referral(surname: str, people=GROUP) -> dict:
    return {"crossing_point": "Dostyk", "language": "prs", "intent": "asylum", "members": [
        {"relationship": relationship, "given_name": given, "family_name": surname, "birth_date": born, "sex": sex,
         "citizenship": "AFG"} for relationship, given, born, sex in people]}


def refer_group(stack, body: dict) -> httpx.Response:
    return httpx.post(stack.url("registration") + "/api/v1/border-referrals/groups", json=body,
                      headers=headers("border-officer", purpose=None, idempotency_key=str(uuid.uuid4())),
                      timeout=HTTP_TIMEOUT)


def persons_named(stack, surname: str) -> list[dict]:
    """Everyone registered under this family name (the search is fuzzy: only exact matches count)."""
    r = httpx.get(stack.url("registration") + "/api/v1/persons", params={"name": surname},
                  headers=headers("registration-officer"), timeout=HTTP_TIMEOUT)
    return [p for p in ok(r)["items"] if p.get("family_name") == surname]


def test_a_family_referred_together_is_one_application_with_a_status_for_each(stack):
    surname = unique_name()
    referred = ok(refer_group(stack, group_referral(surname)), 201)
    people = {m["person_id"]: m for m in referred["members"]}
    app = Rsd.of_person(stack, referred["person_id"])
    members = {m["person_id"]: m for m in app.application["members"]}
    assert set(members) == set(people), (app.application["members"], referred["members"])

    family = Family()
    for (relationship, _, born, sex), member in zip(GROUP, referred["members"]):
        pid = member["person_id"]
        family.members[relationship] = Member(relationship, pid, born, members[pid]["id"], relationship, sex)
    journey = Journey(stack, family)
    # The adults hold their own certificate; the child is entered on the principal's.
    journey.expect("the group referral lodged in rsd", statuses=everyone(family, "asylum_seeker"),
                   documents={("principal", AS_CERT): "valid", ("spouse", AS_CERT): "valid"})
    journey.finish()


@pytest.mark.parametrize("fault, rule", [
    (lambda body: body["members"][1].update(relationship="principal"), "one_principal"),
    (lambda body: body["members"][2].update(birth_date="1980-01-01"), "child_born_after_parents"),
    (lambda body: body["members"].append(dict(body["members"][2])), "duplicate_group_member"),
])
def test_a_bad_group_referral_is_refused_and_nobody_is_registered(stack, fault, rule):
    surname = unique_name()
    body = group_referral(surname)
    fault(body)
    r = refer_group(stack, body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json().get("rule") == rule, r.text
    assert persons_named(stack, surname) == []


def test_a_statelessness_applicant_holds_a_paper_until_the_procedure_ends(stack):
    born = "1981-02-11"
    pid = register_person(stack, given="Yerlan", family_name=unique_name(), birth_date=born, sex="male",
                          citizenship=["XXA"])
    me = "applicant"
    family = Family({me: Member(me, pid, born, "m1", "principal", "male")})
    journey = Journey(stack, family)
    case = StatelessnessCase(stack, pid, born)
    journey.expect("the case opened", statuses={me: "stateless_applicant"}, documents={(me, PROCEDURE_CERT): "valid"})

    opened = today()
    case.step("/extension", {"new_due": (opened + timedelta(days=270)).isoformat(), "reasons": "awaiting UZB's reply"})
    journey.papers("the decision period extended (a paper for the longer procedure)", {me: "stateless_applicant"},
                   kind=PROCEDURE_CERT, at_least=2)

    case.determine("not_stateless", nationality="UZB", reasons="UZB confirmed his citizenship",
                   confirmed_nationality_reasons="UZB confirmed his citizenship")
    journey.papers("found not stateless at first instance (a paper to the end of the appeal window)",
                   {me: "not_stateless"}, kind=PROCEDURE_CERT, at_least=3)

    case.step("/appeal", {})
    journey.papers("the appeal lodged", {me: "stateless_applicant"}, kind=PROCEDURE_CERT, at_least=4)

    case.step("/appeal/decision", {"result": "rejected", "reasons": "the confirmation stands"}, officer="slo-appeal")
    journey.expect("the appeal rejected (not stateless, final)", statuses={me: "not_stateless"},
                   documents={(me, PROCEDURE_CERT): NOT_VALID})
    journey.finish()


def test_a_childs_refugee_certificate_outlives_the_principal(stack):
    family = register_family(stack)
    journey = Journey(stack, family)
    app = Rsd.lodge(stack, family)
    app.recognise(family)
    recognised = {("principal", REFUGEE_CERT): "valid", ("spouse", REFUGEE_CERT): "valid",
                  ("child", REFUGEE_CERT): "valid"}
    superseded = {("principal", AS_CERT): NOT_VALID, ("spouse", AS_CERT): NOT_VALID}
    journey.expect("recognition of the family", statuses=everyone(family, "refugee"), documents=recognised,
                   optional=superseded)

    app.step("/closure", {"reason": "death"}, role="supervisor", subject="sup-manager")
    journey.expect("the principal's death", statuses={"principal": "deceased", "spouse": "refugee", "child": "refugee"},
                   documents={**recognised, ("principal", REFUGEE_CERT): NOT_VALID}, optional=superseded)
    journey.finish()


def test_citizenship_ends_protection_and_its_papers(stack):
    born = "1975-06-30"
    pid = register_person(stack, given="Serik", family_name=unique_name(), birth_date=born, sex="male",
                          citizenship=["XXA"])
    me = "principal"  # of his own asylum application
    family = Family({me: Member(me, pid, born, "m1", "principal", "male")})
    journey = Journey(stack, family)
    case = StatelessnessCase(stack, pid, born)
    case.determine("stateless", reasons="no State considers him a national")
    journey.expect("recognised stateless", statuses={me: "stateless"},
                   documents={(me, STATELESS_CERT): "valid", (me, PROCEDURE_CERT): NOT_VALID})

    app = Rsd.lodge(stack, family)
    app.recognise(family)
    journey.expect("recognised a refugee too", statuses={me: "refugee"},
                   documents={(me, STATELESS_CERT): "valid", (me, REFUGEE_CERT): "valid",
                              (me, PROCEDURE_CERT): NOT_VALID}, optional={(me, AS_CERT): NOT_VALID})

    tracks = stack.url("statelessness") + "/api/v1/naturalization/tracks"
    officer = headers("statelessness-officer", purpose=None, subject="slo-1")
    r = httpx.post(tracks, json={"case_id": case.case["id"],
                                 "lawful_residence_from": (today() - timedelta(days=6 * 366)).isoformat()},
                   headers={**officer, "Idempotency-Key": str(uuid.uuid4())}, timeout=HTTP_TIMEOUT)
    track = ok(r, 201)
    r = httpx.get(f"{tracks}/{track['track_id']}", headers=headers("statelessness-officer"), timeout=HTTP_TIMEOUT)
    ok(r)
    r = httpx.post(f"{tracks}/{track['track_id']}/decision", json={"outcome": "granted"},
                   headers={**officer, "If-Match": r.headers["ETag"]}, timeout=HTTP_TIMEOUT)
    ok(r)
    journey.expect("naturalized: a citizen needs no protection", statuses={me: "citizen_after_naturalization"},
                   documents={(me, STATELESS_CERT): "revoked", (me, REFUGEE_CERT): "revoked",
                              (me, PROCEDURE_CERT): NOT_VALID}, optional={(me, AS_CERT): NOT_VALID})
    journey.finish()
