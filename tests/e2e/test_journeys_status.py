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

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import httpx
import pytest
from support import HTTP_TIMEOUT, headers, read_topic, wait_for

pytestmark = pytest.mark.e2e

#: How long a step may take to reach registration on a busy machine: a bound on a failure, not a pace.
STEP_TIMEOUT = 120.0

AS_CERT = "asylum_seeker_certificate"
REFUGEE_CERT = "refugee_certificate"
STATELESS_CERT = "stateless_person_certificate"
PROCEDURE_CERT = "statelessness_procedure_certificate"  # lawful stay while statelessness is determined

#: A document answer that is anything but valid (revoked or expired): what a superseded document may say.
NOT_VALID = "not valid"


def today() -> date:
    return datetime.now(timezone.utc).date()


# ---------------------------------------------------------------------------------------------- the people
@dataclass
class Member:
    name: str  # how the journey speaks of them: principal, spouse, child
    person_id: str
    birth_date: str
    member_id: str  # the member id in the rsd application
    relationship: str
    sex: str


@dataclass
class Family:
    members: dict[str, Member] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Member:
        return self.members[name]

    def by_person(self, person_id: str) -> Member | None:
        return next((m for m in self.members.values() if m.person_id == person_id), None)


def _ok(r: httpx.Response, *codes: int) -> dict:
    assert r.status_code in (codes or (200,)), f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}"
    return r.json()


def register_person(stack, *, given: str, family_name: str, birth_date: str, sex: str,
                    citizenship: list[str]) -> str:
    r = httpx.post(stack.url("registration") + "/api/v1/persons", json={
        "given_name": given, "family_name": family_name, "birth_date": birth_date, "sex": sex,
        "citizenship": citizenship,
    }, headers=headers("registration-officer", purpose=None, idempotency_key=str(uuid.uuid4())), timeout=HTTP_TIMEOUT)
    return _ok(r, 201)["person_id"]


def unique_name() -> str:
    """A family name no earlier journey's resembles (registration refuses likely duplicates)."""
    return "".join(chr(97 + int(c, 16)) for c in uuid.uuid4().hex[:10]).capitalize()


def register_family(stack, *, with_spouse: bool = True, with_child: bool = True, citizenship=("AFG",)) -> Family:
    surname = unique_name()
    people = [("principal", "Farid", "1984-03-14", "male", "principal", "m1")]
    if with_spouse:
        people.append(("spouse", "Mariam", "1988-09-02", "female", "spouse", "m2"))
    if with_child:
        people.append(("child", "Omid", "2016-06-20", "male", "child", "m3"))
    family = Family()
    for name, given, born, sex, relationship, member_id in people:
        pid = register_person(stack, given=given, family_name=surname, birth_date=born, sex=sex,
                              citizenship=list(citizenship))
        family.members[name] = Member(name, pid, born, member_id, relationship, sex)
    return family


# ---------------------------------------------------------------------------------------------- rsd, over HTTP
class Rsd:
    """One application in rsd, driven step by step with the ETag of the last answer as `If-Match`."""

    def __init__(self, stack, application: dict, etag: str):
        self.stack, self.application, self.etag = stack, application, etag

    @property
    def id(self) -> str:
        return self.application["id"]

    @classmethod
    def lodge(cls, stack, family: Family) -> "Rsd":
        def member(m: Member) -> dict:
            return {"id": m.member_id, "person_id": m.person_id, "relationship": m.relationship, "sex": m.sex,
                    "birth_date": m.birth_date, "derivative_status_consent": m.relationship != "principal"}
        principal, *others = family.members.values()
        on = today().isoformat()
        r = httpx.post(stack.url("rsd") + "/api/v1/applications", json={
            "principal": member(principal), "family": [member(m) for m in others], "lodged_on": on,
            "arrived_on": on, "manner_of_arrival": "regular", "lodging_language": "ru", "register_on": on,
        }, headers=headers("eligibility-officer", purpose=None, idempotency_key=str(uuid.uuid4()),
                           subject="eo-lodging"), timeout=HTTP_TIMEOUT)
        return cls(stack, _ok(r, 201), r.headers["ETag"])

    def step(self, path: str, body: dict, *, role: str, subject: str) -> dict:
        h = headers(role, purpose=None, subject=subject)
        h["If-Match"] = self.etag
        r = httpx.post(f"{self.stack.url('rsd')}/api/v1/applications/{self.id}{path}", json=body, headers=h,
                       timeout=HTTP_TIMEOUT)
        self.application = _ok(r, 200)
        self.etag = r.headers["ETag"]
        return self.application

    def interview_principal(self, family: Family) -> None:
        on = today().isoformat()
        self.step("/interviews", {"member_id": family["principal"].member_id, "scheduled_on": on,
                                  "interviewer_id": "eo-interviewer",
                                  "interpreter": {"id": "int-1", "language": "prs"}},
                  role="eligibility-officer", subject="eo-interviewer")
        interview_id = self.application["interviews"][-1].get("id", "i1")
        self.step(f"/interviews/{interview_id}/record", {"held_on": on, "record": "the applicant's account"},
                  role="eligibility-officer", subject="eo-interviewer")

    def assess(self, member: Member, *, meets_criteria: bool) -> None:
        self.step("/assessments", {
            "member_id": member.member_id, "outside_country": True, "well_founded_fear": meets_criteria,
            "persecution": meets_criteria, "nexus_grounds": ["political_opinion"] if meets_criteria else [],
            "no_state_protection": meets_criteria, "exclusion": [],
        }, role="eligibility-officer", subject="eo-assessor")

    def assess_adults(self, family: Family, *, principal_meets: bool) -> None:
        self.assess(family["principal"], meets_criteria=principal_meets)
        if "spouse" in family.members:  # every adult is assessed individually
            self.assess(family["spouse"], meets_criteria=False)

    def recognise(self, family: Family) -> None:
        """Principal recognised in own right; spouse (consenting) and child with derivative status."""
        self.interview_principal(family)
        self.assess_adults(family, principal_meets=True)
        self.step("/recommendation", {"outcome": "recognised"}, role="eligibility-officer", subject="eo-assessor")
        outcomes = {m.member_id: "derivative" for m in family.members.values() if m.relationship != "principal"}
        self.step("/decision", {"outcome": "recognised", "member_outcomes": outcomes},
                  role="supervisor", subject="sup-first-instance")
        self.step("/notification", {"served_on": today().isoformat(), "language": "prs"},
                  role="eligibility-officer", subject="eo-lodging")

    def reject(self, family: Family) -> None:
        self.interview_principal(family)
        self.assess_adults(family, principal_meets=False)
        self.step("/recommendation", {"outcome": "rejected", "rejection_reasons": ["fear_not_well_founded"]},
                  role="eligibility-officer", subject="eo-assessor")
        self.step("/decision", {}, role="supervisor", subject="sup-first-instance")
        self.step("/notification", {"served_on": today().isoformat(), "language": "prs"},
                  role="eligibility-officer", subject="eo-lodging")


# ---------------------------------------------------------------------------------------------- what others see
@dataclass(frozen=True)
class Document:
    holder: str  # the member's name in the journey
    kind: str
    number: str
    answer: str  # the verification API's `result`

    def label(self) -> str:
        return f"{self.holder}'s {self.kind} {self.number}"


def legal_status(stack, person_id: str) -> str:
    r = httpx.get(f"{stack.url('registration')}/api/v1/persons/{person_id}",
                  headers=headers("registration-officer"), timeout=HTTP_TIMEOUT)
    return _ok(r)["legal_status"]


def issued_documents(stack, family: Family) -> list[tuple[Member, str, str]]:
    """(holder, kind, number) of every document registration announced for the family."""
    out = []
    for record in read_topic(stack.kafka_bootstrap, "registration.events", timeout=STEP_TIMEOUT):
        hdrs = dict(record.headers or ())
        if hdrs.get("ce_type") != b"registration.document.issued.v1":
            continue
        try:
            data = json.loads(record.value)
        except (TypeError, ValueError):
            continue
        holder = family.by_person(data.get("person_id"))
        if holder is not None:
            out.append((holder, data["kind"], data["number"]))
    return out


def verify(stack, number: str, birth_date: str) -> str:
    """A service provider's check. Each check is its own client: the per-client rate is not what is tested."""
    r = httpx.get(f"{stack.url('registration')}/api/v1/verify/{number}", params={"birth_date": birth_date},
                  headers=headers("service-provider", purpose=None, subject=f"provider-{uuid.uuid4().hex[:12]}"),
                  timeout=HTTP_TIMEOUT)
    if r.status_code == 429:  # not an answer about the document: the probe tries again
        return "rate-limited"
    return _ok(r)["result"]


@dataclass
class Seen:
    statuses: dict[str, str]
    documents: list[Document]


def observe(stack, family: Family) -> Seen:
    statuses = {name: legal_status(stack, m.person_id) for name, m in family.members.items()}
    documents = [Document(holder.name, kind, number, verify(stack, number, holder.birth_date))
                 for holder, kind, number in issued_documents(stack, family)]
    return Seen(statuses, documents)


def wrong_answers(seen: Seen, statuses: dict[str, str], documents: dict[tuple[str, str], str],
                  optional: dict[tuple[str, str], str] | None = None) -> list[str]:
    """Every way what registration answers differs from the expected answers.

    `documents` maps (member, kind) to the expected answer for every document of that kind the member holds;
    each key must be held by at least one document, and every document seen must have an expectation.
    `optional` is the same for documents a member may or may not hold.
    """
    optional = optional or {}
    wrong = [f"{name}: legal_status is {seen.statuses[name]!r}, expected {want!r}"
             for name, want in statuses.items() if seen.statuses[name] != want]
    for (holder, kind), want in {**optional, **documents}.items():
        held = [d for d in seen.documents if (d.holder, d.kind) == (holder, kind)]
        if not held and (holder, kind) in documents:
            wrong.append(f"{holder}: no {kind} issued, expected one answering {want!r}")
        for d in held:
            ok = d.answer != "valid" if want == NOT_VALID else d.answer == want
            if not ok:
                wrong.append(f"{d.label()}: verification answers {d.answer!r}, expected {want!r}")
    for d in seen.documents:
        if (d.holder, d.kind) not in documents and (d.holder, d.kind) not in optional:
            wrong.append(f"{d.label()}: issued (answers {d.answer!r}) but the journey expects no such document")
    return wrong


class Journey:
    """The steps of one journey. A step whose answers stay wrong is recorded and the journey goes on, so one
    run shows every wrong answer of the journey; `finish` fails with all of them, step by step."""

    def __init__(self, stack, family: Family):
        self.stack, self.family = stack, family
        self.wrong: list[str] = []

    def expect(self, step: str, *, statuses: dict[str, str], documents: dict[tuple[str, str], str],
               optional: dict[tuple[str, str], str] | None = None) -> Seen | None:
        """Wait until registration gives exactly these answers; else record every wrong one seen last."""
        last: list[list[str]] = [[]]

        def probe():
            seen = observe(self.stack, self.family)
            last[0] = wrong_answers(seen, statuses, documents, optional)
            return seen if not last[0] else None

        try:
            return wait_for(probe, timeout=STEP_TIMEOUT, interval=1.0, what=step)
        except AssertionError:
            self.wrong.append(f"after {step} (waited {STEP_TIMEOUT:.0f}s):\n    "
                              + "\n    ".join(last[0] or ["(no answer observed)"]))
            return None

    def finish(self) -> None:
        if self.wrong:  # raised, not asserted: the message is the evidence, without pytest's repetition of it
            raise AssertionError("registration answers wrongly:\n  " + "\n  ".join(self.wrong))


def everyone(family: Family, status: str) -> dict[str, str]:
    return {name: status for name in family.members}


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

    sl = stack.url("statelessness")
    officer = headers("statelessness-officer", purpose=None, subject="slo-1")
    r = httpx.post(sl + "/api/v1/cases", json={"person_id": pid, "birth_date": born, "reason_note": "applied in person"},
                   headers={**officer, "Idempotency-Key": str(uuid.uuid4())}, timeout=HTTP_TIMEOUT)
    if r.status_code == 409:  # registered without citizenship: statelessness opened a case ex officio already
        assert r.json().get("rule") == "one_case_at_a_time", r.text
        r = httpx.get(sl + "/api/v1/cases", params={"person_id": pid}, headers=headers("statelessness-officer"),
                      timeout=HTTP_TIMEOUT)
        [case] = _ok(r)["items"]
    else:
        case = _ok(r, 201)
    journey.expect("the statelessness case opened", statuses={me: "stateless_applicant"},
                   documents={(me, PROCEDURE_CERT): "valid"})
    r = httpx.get(f"{sl}/api/v1/cases/{case['id']}", headers=headers("statelessness-officer"), timeout=HTTP_TIMEOUT)
    _ok(r)
    r = httpx.post(f"{sl}/api/v1/cases/{case['id']}/interview", json={"notes": "born in Shymkent 1979, no papers"},
                   headers={**officer, "If-Match": r.headers["ETag"]}, timeout=HTTP_TIMEOUT)
    _ok(r)
    r = httpx.post(f"{sl}/api/v1/cases/{case['id']}/determination",
                   json={"outcome": "stateless", "reasons": "no State considers him a national"},
                   headers={**officer, "If-Match": r.headers["ETag"]}, timeout=HTTP_TIMEOUT)
    _ok(r)
    journey.expect("the statelessness determination", statuses={me: "stateless"},
                   documents={(me, STATELESS_CERT): "valid", (me, PROCEDURE_CERT): "revoked"})

    Rsd.lodge(stack, family)  # he then claims asylum: lodged and registered at once
    journey.expect("lodging an asylum claim (precedence: asylum_seeker over stateless)", statuses={me: "asylum_seeker"},
                   documents={(me, STATELESS_CERT): "valid", (me, AS_CERT): "valid", (me, PROCEDURE_CERT): "revoked"})

    r = httpx.get(f"{sl}/api/v1/cases/{case['id']}", headers=headers("statelessness-officer"), timeout=HTTP_TIMEOUT)
    assert _ok(r)["outcome"] == "stateless", r.text  # the determination still stands in statelessness
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
