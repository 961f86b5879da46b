"""rsd's example world for /docs (pana_kit.sandbox): an application at each stage a documented step accepts.

Every step has an application of its own (one to register, one to fingerprint, one interviewed and awaiting the
assessment, one recommended and awaiting the decision, a rejection to appeal, a recognition whose status may
end...), so "Try it out" succeeds on each whatever the order. The applications belong to the dev eligibility
officer (`pana token eligibility-officer`, subject "eligibility-officer-dev"), who reads them in /docs; the steps
the four-eyes rules give to someone else (the decision on a recommendation, the appeal on a decision) were taken
by other dev officers.
"""

from __future__ import annotations

from pana_kit.application import etag_of
from pana_kit.sandbox import (RSD_APPLICATIONS, OperationExample, Sandbox, SandboxClient, SandboxError, example_person,
                              sandbox_id)

APPS = "/api/v1/applications"
#: The child addMember's example adds: a person of the shared world, so registration knows her.
CHILD = example_person("rsd:member:child")
OFFICER = "eligibility-officer-dev"
OTHER_OFFICER = "eligibility-officer-2-dev"
OTHER_SUPERVISOR = "supervisor-2-dev"

INTERVIEW = {"member_id": "m1", "scheduled_on": "2026-02-02", "interviewer_id": "eo-17", "interviewer_sex": "female",
             "interpreter": {"id": "int-4", "language": "prs", "dialect": "kabuli", "sex": "female"}}
RECORD = {"held_on": "2026-02-02", "record": "Q: why did you leave? A: ..."}
MEETS = {"member_id": "m1", "assessed_on": "2026-02-10", "outside_country": True, "well_founded_fear": True,
         "persecution": True, "nexus_grounds": ["political_opinion"], "no_state_protection": True,
         "credibility": [{"material_fact": "detention in 2024", "accepted": True}], "notes": "(reasoning)"}
FAILS = {**MEETS, "persecution": False, "notes": "(reasoning: the harm feared does not reach persecution)"}


def _id(label: str) -> str:
    return sandbox_id(f"rsd:{label}")


def _step(label: str, version: int, body: dict, **ids: str) -> OperationExample:
    return OperationExample({"application_id": _id(label), "If-Match": etag_of(version, _id(label)), **ids}, body,
                            etag_from=f"{APPS}/{_id(label)}")


INTERVIEWED = [("interviews", INTERVIEW, None), ("interviews/i1/record", RECORD, None)]
SCHEDULED = [("interviews", INTERVIEW, None)]
RECOMMENDED = [*INTERVIEWED, ("assessments", MEETS, None),
               ("recommendation", {"outcome": "recognised", "on": "2026-02-20"}, OTHER_OFFICER)]
REJECTED = [*INTERVIEWED, ("assessments", FAILS, None),
            ("recommendation", {"outcome": "rejected", "rejection_reasons": ["harm_not_persecution"],
                                "on": "2026-02-20"}, OTHER_OFFICER),
            ("decision", {"on": "2026-03-01"}, OTHER_SUPERVISOR)]
NOTIFIED_REJECTION = [*REJECTED, ("notification", {"served_on": "2026-03-03", "language": "prs"}, None)]
RECOGNISED = [*INTERVIEWED, ("assessments", MEETS, None),
              ("recommendation", {"outcome": "recognised", "on": "2026-02-20"}, None),
              ("decision", {"on": "2026-03-01"}, OTHER_SUPERVISOR)]
ENDING_NOTICE = ("ending/notice", {"kind": "cessation", "grounds": ["1C(1)"], "on": "2026-06-10"}, OTHER_SUPERVISOR)

#: application label -> (registered at lodging?, the steps before the documented one: path, body, who if not
#: the dev officer)
WORLD: dict[str, tuple[bool, list]] = {
    "read": (True, [*INTERVIEWED, ("assessments", MEETS, None),
                    ("recommendation", {"outcome": "recognised", "on": "2026-02-20"}, None),
                    ("decision", {"on": "2026-03-01"}, OTHER_SUPERVISOR)]),
    "register": (False, []),
    "fingerprint": (True, []),
    "mode": (True, []),
    "assign": (True, []),
    "contact": (True, []),
    "member": (True, []),
    "schedule": (True, []),
    "reschedule": (True, SCHEDULED),
    "no-show": (True, SCHEDULED),
    "record": (True, SCHEDULED),
    "assess": (True, INTERVIEWED),
    "recommend": (True, [*INTERVIEWED, ("assessments", MEETS, None)]),
    "decide": (True, RECOMMENDED),
    "notify": (True, REJECTED),
    "extend": (True, []),
    "appeal": (True, NOTIFIED_REJECTION),
    "appeal-decide": (True, [*NOTIFIED_REJECTION, ("appeals", {"lodged_on": "2026-03-20"}, None)]),
    "close": (True, []),
    "reopen": (True, [("closure", {"reason": "withdrawal", "on": "2026-05-01"}, OTHER_SUPERVISOR)]),
    "ending-notice": (True, RECOGNISED),
    "ending-response": (True, [*RECOGNISED, ENDING_NOTICE]),
    "ending-decide": (True, [*RECOGNISED, ENDING_NOTICE]),
}


def _version(label: str) -> int:
    """The application's version once seeded: lodging is version 1, each step one more."""
    return 1 + len(WORLD[label][1])


EXAMPLES = {
    "getApplication": OperationExample({"application_id": _id("read")}),
    "readClaim": OperationExample({"application_id": _id("read")}),
    "listAssignments": OperationExample({"application_id": _id("read")}),
    "getDecisionLetter": OperationExample({"application_id": _id("read")}),
    "registerApplication": _step("register", _version("register"), {"registered_on": "2026-01-10"}),
    "recordFingerprinting": _step("fingerprint", _version("fingerprint"), {"fingerprinted_on": "2026-01-20"}),
    "setProcessingMode": _step("mode", _version("mode"), {"mode": "accelerated", "reason": "manifestly well-founded"}),
    "assignApplication": _step("assign", _version("assign"), {"officer_id": "eo-2", "reason": "workload"}),
    "recordContact": _step("contact", _version("contact"), {
        "kind": "phone", "on": "2026-03-02", "note": "Called to say she is in hospital; will come next week."}),
    "addMember": _step("member", _version("member"), {
        "person_id": CHILD.id, "name": CHILD.given_name, "sex": CHILD.sex, "relationship": "child",
        "birth_date": CHILD.birth_date, "on": "2026-02-20"}),
    "scheduleInterview": _step("schedule", _version("schedule"), INTERVIEW),
    "rescheduleInterview": _step("reschedule", _version("reschedule"),
                                 {"to_date": "2026-02-09", "reason": "interpreter ill"}, interview_id="i1"),
    "recordNoShow": _step("no-show", _version("no-show"), {"on": "2026-02-02"}, interview_id="i1"),
    "recordInterview": _step("record", _version("record"), RECORD, interview_id="i1"),
    "recordAssessment": _step("assess", _version("assess"), MEETS),
    "recordRecommendation": _step("recommend", _version("recommend"), {"outcome": "recognised", "on": "2026-02-20"}),
    "decideApplication": _step("decide", _version("decide"), {"on": "2026-03-01"}),
    "notifyDecision": _step("notify", _version("notify"), {"served_on": "2026-03-03", "language": "prs"}),
    "extendDeadline": _step("extend", _version("extend"), {"months": 3, "reason": "country information awaited"}),
    "lodgeAppeal": _step("appeal", _version("appeal"), {"lodged_on": "2026-03-20"}),
    "decideAppeal": _step("appeal-decide", _version("appeal-decide"), {"outcome": "allowed", "on": "2026-04-15"}),
    "closeApplication": _step("close", _version("close"), {"reason": "withdrawal", "on": "2026-05-01"}),
    "reopenApplication": _step("reopen", _version("reopen"), {
        "ground": "changed_circumstances", "reason": "new coup at home", "on": "2026-09-01"}),
    "sendEndingNotice": _step("ending-notice", _version("ending-notice"), ENDING_NOTICE[1]),
    "recordEndingResponse": _step("ending-response", _version("ending-response"),
                                  {"on": "2026-06-20", "response": "I never went back."}),
    "decideEnding": _step("ending-decide", _version("ending-decide"), {"end_status": True, "on": "2026-07-15"}),
}


async def seed(client: SandboxClient) -> None:
    if set(RSD_APPLICATIONS) != {*WORLD, "marker"}:  # each principal is a person registration's world registers
        raise SandboxError("rsd's applications and pana_kit.sandbox.RSD_APPLICATIONS differ")
    for label, (registered, steps) in WORLD.items():
        body = {**_lodging(label), "lodging_language": "ru",
                **({"register_on": "2026-01-10"} if registered else {})}
        body["principal"]["specific_needs"] = ["woman_at_risk"]
        await client.call("POST", APPS, ids=[f"rsd:{label}"], json=body,
                          headers={"Idempotency-Key": f"sandbox-{_id(label)}"})
        path = f"{APPS}/{_id(label)}"
        for step, step_body, subject in steps:
            await client.call("POST", f"{path}/{step}", json=step_body, subject=subject,
                              headers={"If-Match": await client.etag(path)})
    await client.call("POST", APPS, ids=["rsd:marker"], headers={"Idempotency-Key": f"sandbox-{_id('marker')}"},
                      json=_lodging("marker"))


def _lodging(label: str) -> dict:
    """A lodging whose principal is the shared world's applicant of `label` (pana_kit.sandbox.EXAMPLE_PERSONS)."""
    person = example_person(f"rsd:{label}:person")
    return {"principal": {"id": "m1", "person_id": person.id, "relationship": "principal", "sex": person.sex,
                          "birth_date": person.birth_date},
            "lodged_on": "2026-01-08", "arrived_on": "2026-01-06", "manner_of_arrival": "regular",
            "officer_id": OFFICER, "narrative": "(the applicant's account)"}


SANDBOX = Sandbox(examples=EXAMPLES, seed=seed, marker=f"{APPS}/{_id('marker')}", subject=OFFICER)
