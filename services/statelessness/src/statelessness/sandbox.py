"""Statelessness's example world for /docs (pana_kit.sandbox): a case in each state a documented step accepts.

Every step has a case of its own (an interview to hold, a determination to make, an appeal to lodge and one to
decide), so "Try it out" succeeds on each whatever the order. Children at risk are flagged only from
registration's birth events, so the seed hands one to the service's own consumer, as the bus would.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pana_events.events import registration as reg
from pana_kit.application import etag_of
from pana_kit.sandbox import (STATELESSNESS_CASES, STATELESSNESS_FLAGS, OperationExample, Sandbox, SandboxClient,
                              SandboxError, example_person, sandbox_id)

CASES = "/api/v1/cases"
FLAGS = "/api/v1/children-at-risk"
TRACKS = "/api/v1/naturalization/tracks"
OPENED = "2026-06-01"
FLAGGED = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # the birth event's time: the flag's day


def _id(label: str) -> str:
    return sandbox_id(f"statelessness:{label}")


def _labels(*labels: str) -> list[str]:
    return [f"statelessness:{label}" for label in labels]


def _case_step(case: str, version: int, body: dict, **ids: str) -> OperationExample:
    return OperationExample({"case_id": _id(case), "If-Match": etag_of(version, _id(case)), **ids}, body,
                            etag_from=f"{CASES}/{_id(case)}")


INTERVIEW = {"held_on": "2026-07-15", "interpreter_id": "interp-7", "legal_representative_present": True,
             "notes": "born 1990 in Shymkent; lived in Russia 2005-2019"}
STATELESS = {"outcome": "stateless", "decided_on": "2026-09-01",
             "reasons": "no State considers the person a national; UZB denied, RUS did not reply"}
NOT_STATELESS = {"outcome": "not_stateless", "nationality": "UZB", "decided_on": "2026-09-01",
                 "reasons": "UZB confirmed the person as its national by birth"}

EXAMPLES = {
    "getCase": OperationExample({"case_id": _id("case:read")}),
    "addEvidence": _case_step("case:evidence", 1, {
        "kind": "document", "source": "expired USSR passport", "weight": "medium", "brought_by": "applicant",
        "received_on": "2026-07-01", "description": "Soviet passport issued 1988 in Shymkent"}),
    "sendInquiry": _case_step("case:inquiry", 1, {"state": "UZB", "link": "birth", "sent_on": "2026-07-01"}),
    "answerInquiry": _case_step("case:answer", 2, {"answer": "denies", "answered_on": "2026-08-01"},
                                inquiry_id=_id("inquiry:answer")),
    "markInquiryUnanswered": _case_step("case:unanswered", 2, {"found_on": "2026-06-01"},
                                        inquiry_id=_id("inquiry:unanswered")),
    "holdInterview": _case_step("case:interview", 1, INTERVIEW),
    "assignCase": _case_step("case:assign", 1, {"officer_id": "officer-b"}),
    "extendCase": _case_step("case:extend", 1, {"new_due": "2027-03-01", "reasons": "awaiting the reply of RUS"}),
    "determineStatelessness": _case_step("case:determine", 2, STATELESS),
    "lodgeAppeal": _case_step("case:appeal", 3, {"lodged_on": "2026-09-10"}),
    "decideAppeal": _case_step("case:appeal-decide", 4, {
        "result": "allowed", "reasons": "the confirmation by UZB concerned another person",
        "decided_on": "2026-10-01"}),
    "getFlag": OperationExample({"flag_id": _id("flag:read")}),
    "resolveFlag": OperationExample({"flag_id": _id("flag:resolve"), "If-Match": etag_of(1, _id("flag:resolve"))},
                                    {"basis": "kazakh_citizenship_by_birth", "resolved_on": "2026-11-15"},
                                    etag_from=f"{FLAGS}/{_id('flag:resolve')}"),
    "openTrack": OperationExample(body={"case_id": _id("case:track-open"), "lawful_residence_from": "2022-03-01"}),
    "getTrack": OperationExample({"track_id": _id("track:read")}),
    "decideNaturalization": OperationExample(
        {"track_id": _id("track:decide"), "If-Match": etag_of(1, _id("track:decide"))},
        {"outcome": "granted", "decided_on": "2026-11-02"}, etag_from=f"{TRACKS}/{_id('track:decide')}"),
}


async def seed(client: SandboxClient) -> None:
    # Each case's person, and each flagged child, is a person registration's world registers (pana_kit.sandbox).
    if STATELESSNESS_CASES[-2:] != ("unanswered", "marker") or STATELESSNESS_FLAGS != ("flag:read", "flag:resolve"):
        raise SandboxError("statelessness's cases and pana_kit.sandbox.STATELESSNESS_CASES differ")
    for label in STATELESSNESS_CASES[:-2]:
        await _open(client, f"case:{label}", OPENED)
    await _open(client, "case:unanswered", "2025-01-10")
    await _step(client, "case:answer", "inquiries", {"state": "UZB", "link": "birth", "sent_on": "2026-06-10"},
                ids=("inquiry:answer",))
    await _step(client, "case:unanswered", "inquiries", {"state": "RUS", "link": "residence",
                                                          "sent_on": "2025-01-20"}, ids=("inquiry:unanswered",))
    for case in ("determine", "appeal", "appeal-decide", "track-open", "track-read", "track-decide"):
        await _step(client, f"case:{case}", "interview", INTERVIEW)
    for case in ("track-open", "track-read", "track-decide"):
        await _step(client, f"case:{case}", "determination", STATELESS)
    await _step(client, "case:appeal", "determination", NOT_STATELESS)
    # Determined by another officer: the dev officer of /docs may then hear the appeal.
    await _step(client, "case:appeal-decide", "determination", NOT_STATELESS, subject="statelessness-officer-2-dev")
    await _step(client, "case:appeal-decide", "appeal", {"lodged_on": "2026-09-10"}, ids=("appeal:decide",))
    for track, since in (("track:read", "2022-03-01"), ("track:decide", "2015-01-01")):
        await client.call("POST", TRACKS, ids=_labels(track), json={"case_id": _id(f"case:{track.replace(':', '-')}"),
                                                                    "lawful_residence_from": since},
                          headers={"Idempotency-Key": f"sandbox-{_id(track)}"})
    for flag in STATELESSNESS_FLAGS:
        child = example_person(f"statelessness:{flag}:child")
        await client.deliver(reg.BirthRecorded(child_person_id=child.id, given_name=child.given_name,
                                               family_name=child.family_name, birth_date=child.birth_date,
                                               sex=child.sex, born_in_kazakhstan=True, place_of_birth="Almaty",
                                               foundling=True),
                             subject=child.id, ids=_labels(flag, f"{flag}:case"), time=FLAGGED)
    await _open(client, "case:marker", OPENED)  # last: the marker


async def _open(client: SandboxClient, label: str, opened_on: str) -> None:
    person = example_person(f"statelessness:{label}:person")
    await client.call("POST", CASES, ids=_labels(label), json={
        "person_id": person.id, "birth_date": person.birth_date, "opened_on": opened_on,
        "reason_note": "applied in person at the Almaty migration service"},
        headers={"Idempotency-Key": f"sandbox-{_id(label)}"})


async def _step(client: SandboxClient, case: str, step: str, body: dict, ids: tuple[str, ...] = (),
                subject: str | None = None) -> None:
    path = f"{CASES}/{_id(case)}"
    await client.call("POST", f"{path}/{step}", ids=_labels(*ids), json=body, subject=subject,
                      headers={"If-Match": await client.etag(path)})


# A case is read only by its officer: the world's cases are the dev statelessness officer's (`pana token
# statelessness-officer`), who then reads them in /docs.
SANDBOX = Sandbox(examples=EXAMPLES, seed=seed, marker=f"{CASES}/{_id('case:marker')}",
                  subject="statelessness-officer-dev")
