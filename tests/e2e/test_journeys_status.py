"""Journeys through the running stack that prove registration's answers about status and documents (issue 13).

Each journey drives rsd and statelessness over HTTP as an integrator would, and at each step waits until
every family member's `legal_status` (registration, `GET /api/v1/persons/{id}`) and every issued document's
verification answer (`GET /api/v1/verify/{number}`, a service provider's call) are what the law says they
are. A step that never gets there fails with every wrong answer it saw, naming the member and the document.

Document numbers come from `registration.document.issued.v1` (what a subscriber sees), so journeys 1-4 do not
depend on the documents list of journey 5. Every step is checked even after an earlier one went wrong; the
journey then fails with the wrong answers of each step. On the main of 2026-12-01 each journey fails, and every
family journey also shows that the spouse never gets an asylum-seeker certificate of her own (registration
issues one certificate per application, reason and day, not per adult that rsd requests it for).
"""

from __future__ import annotations

import httpx
import pytest
from journeys import (AS_CERT, NOT_VALID, PROCEDURE_CERT, REFUGEE_CERT, STATELESS_CERT, Family, Journey, Member, Rsd,
                      StatelessnessCase, everyone, observe, ok, register_family, register_person, today, unique_name,
                      verify)
from support import HTTP_TIMEOUT, headers

pytestmark = pytest.mark.e2e

# ---------------------------------------------------------------------------------------------- the journeys
#: At registration each adult holds an asylum-seeker certificate of their own (the child is entered on the
#: principal's). Required at that step; later steps judge them only where the journey is about them.
LODGED_DOCS = {("principal", AS_CERT): "valid", ("spouse", AS_CERT): "valid"}
#: On recognition each member holds a refugee certificate; an asylum-seeker certificate, if held, is no longer valid.
RECOGNISED_DOCS = {("principal", REFUGEE_CERT): "valid", ("spouse", REFUGEE_CERT): "valid",
                   ("child", REFUGEE_CERT): "valid"}
SUPERSEDED_AS = {("principal", AS_CERT): NOT_VALID, ("spouse", AS_CERT): NOT_VALID}


def test_cessation_for_the_spouse_alone_leaves_principal_and_child_refugees(stack):
    family = register_family(stack)
    journey = Journey(stack, family)
    app = Rsd.lodge(stack, family)
    journey.expect("lodging and registration", statuses=everyone(family, "asylum_seeker"), documents=LODGED_DOCS)

    app.recognise(family)
    journey.expect("recognition of the whole family (spouse and child derivative)",
                   statuses=everyone(family, "refugee"), documents=RECOGNISED_DOCS, optional=SUPERSEDED_AS)

    app.step("/ending/notice", {"kind": "cessation", "grounds": ["1C(1)"], "member_ids": [family["spouse"].member_id]},
             role="supervisor", subject="sup-ending")
    journey.expect("notice of cessation naming only the spouse", statuses=everyone(family, "refugee"),
                   documents=RECOGNISED_DOCS, optional=SUPERSEDED_AS)
    app.step("/ending/response", {"response": "I went back once to see my mother"},
             role="eligibility-officer", subject="eo-lodging")
    app.step("/ending/decision", {"end_status": True}, role="supervisor", subject="sup-ending")
    journey.expect("the decision ending the spouse's status",
                   statuses={"principal": "refugee", "spouse": "former_refugee", "child": "refugee"},
                   documents={**RECOGNISED_DOCS, ("spouse", REFUGEE_CERT): "revoked"}, optional=SUPERSEDED_AS)
    journey.finish()


def test_remitted_appeal_keeps_every_member_an_asylum_seeker(stack):
    family = register_family(stack)
    journey = Journey(stack, family)
    app = Rsd.lodge(stack, family)
    journey.expect("lodging and registration", statuses=everyone(family, "asylum_seeker"), documents=LODGED_DOCS)

    app.reject(family)
    journey.expect("the first-instance rejection (an appeal is still possible)",
                   statuses=everyone(family, "asylum_seeker"), documents={("principal", AS_CERT): "valid"},
                   optional={("spouse", AS_CERT): "valid"})
    app.step("/appeals", {"lodged_on": today().isoformat()}, role="eligibility-officer", subject="eo-lodging")
    journey.expect("lodging the appeal", statuses=everyone(family, "asylum_seeker"),
                   documents={("principal", AS_CERT): "valid"}, optional={("spouse", AS_CERT): "valid"})

    app.step("/appeals/decision", {"outcome": "remitted"}, role="supervisor", subject="sup-appeal")
    assert app.application["stage"] == "registered", app.application  # rsd: back at first instance
    journey.expect("the appeal remitted for a new first-instance decision",
                   statuses=everyone(family, "asylum_seeker"), documents=LODGED_DOCS)
    journey.finish()


def test_a_stateless_person_who_seeks_asylum_keeps_the_stateless_certificate(stack):
    born = "1979-11-05"  # well past 16: the stateless person's certificate is issued
    pid = register_person(stack, given="Bakhyt", family_name=unique_name(), birth_date=born, sex="male",
                          citizenship=["XXA"])
    me = "stateless person"
    family = Family({me: Member(me, pid, born, "m1", "principal", "male")})
    journey = Journey(stack, family)

    case = StatelessnessCase(stack, pid, born)
    journey.expect("the statelessness case opened", statuses={me: "stateless_applicant"},
                   documents={(me, PROCEDURE_CERT): "valid"})
    case.determine("stateless", reasons="no State considers him a national")
    journey.expect("the statelessness determination", statuses={me: "stateless"},
                   documents={(me, STATELESS_CERT): "valid", (me, PROCEDURE_CERT): "revoked"})

    Rsd.lodge(stack, family)  # he then claims asylum: lodged and registered at once
    journey.expect("lodging an asylum claim (precedence: asylum_seeker over stateless)", statuses={me: "asylum_seeker"},
                   documents={(me, STATELESS_CERT): "valid", (me, AS_CERT): "valid", (me, PROCEDURE_CERT): "revoked"})

    r = httpx.get(f"{case.url}/{case.case['id']}", headers=case.reader, timeout=HTTP_TIMEOUT)
    assert ok(r)["outcome"] == "stateless", r.text  # the determination still stands in statelessness
    journey.finish()


def test_the_principals_death_leaves_spouse_and_child_asylum_seekers(stack):
    family = register_family(stack)
    journey = Journey(stack, family)
    app = Rsd.lodge(stack, family)
    journey.expect("lodging and registration", statuses=everyone(family, "asylum_seeker"), documents=LODGED_DOCS)

    app.step("/closure", {"reason": "death"}, role="supervisor", subject="sup-manager")
    # The child was entered on the principal's certificate. Which certificate covers the child afterwards (its
    # own, or the surviving parent's) is registration's choice; any the child holds must be valid.
    journey.expect("closure of the file on the principal's death",
                   statuses={"principal": "deceased", "spouse": "asylum_seeker", "child": "asylum_seeker"},
                   documents={("principal", AS_CERT): NOT_VALID, ("spouse", AS_CERT): "valid"},
                   optional={("child", AS_CERT): "valid"})
    journey.finish()


#: A listed status that agrees with each verification answer (the list may say `issued` where a check says `valid`).
AGREEING = {"valid": {"valid", "issued", "active"}, "revoked": {"revoked", "replaced"}, "expired": {"expired"}}


def agrees(listed: str | None, answer: str) -> bool:
    return listed in AGREEING.get(answer, {answer})


def test_documents_you_can_see_agree_with_verification(stack):
    family = register_family(stack)
    journey = Journey(stack, family)
    app = Rsd.lodge(stack, family)
    journey.expect("lodging and registration", statuses=everyone(family, "asylum_seeker"), documents=LODGED_DOCS)
    app.recognise(family)
    journey.expect("recognition of the whole family", statuses=everyone(family, "refugee"),
                   documents=RECOGNISED_DOCS, optional=SUPERSEDED_AS)
    seen = observe(stack, family)

    wrong = []
    for name, member in family.members.items():
        r = httpx.get(f"{stack.url('registration')}/api/v1/persons/{member.person_id}/documents",
                      headers=headers("registration-officer"), timeout=HTTP_TIMEOUT)
        if r.status_code != 200:
            wrong.append(f"{name}: GET /api/v1/persons/{{person_id}}/documents answers {r.status_code} {r.text[:200]}")
            continue
        items = r.json()["items"]
        listed = {i.get("number"): i for i in items}
        for item in items:
            missing = [k for k in ("document_id", "number", "kind", "status", "issued_on", "expires_on") if k not in item]
            if missing:
                wrong.append(f"{name}'s document {item.get('number')}: the list lacks {missing}")
        for d in (d for d in seen.documents if d.holder == name):
            item = listed.get(d.number)
            if item is None:
                wrong.append(f"{d.label()}: issued (answers {d.answer!r}) but not in {name}'s document list")
                continue
            if item.get("kind") != d.kind:
                wrong.append(f"{d.label()}: listed as kind {item.get('kind')!r}")
            if not agrees(item.get("status"), d.answer):
                wrong.append(f"{d.label()}: listed as {item.get('status')!r}, verification answers {d.answer!r}")
        for number, item in listed.items():
            if number not in {d.number for d in seen.documents if d.holder == name}:
                answer = verify(stack, number, member.birth_date)
                if not agrees(item.get("status"), answer):
                    wrong.append(f"{name}'s {item.get('kind')} {number}: listed as {item.get('status')!r}, "
                                 f"verification answers {answer!r}")
    if wrong:
        journey.wrong.append("GET /api/v1/persons/{person_id}/documents after recognition:\n    " + "\n    ".join(wrong))
    journey.finish()
