import json
import random
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from pana_events.identifiers import make_iin
from pana_kit.documents import to_jsonable
from pana_kit.domain import InvalidInput, RuleViolation

from civil_registry_bridge.domain import events as ev
from civil_registry_bridge.domain import request as rq
from civil_registry_bridge.domain.details import ChildDetails, ParentDetails
from civil_registry_bridge.domain.ports import (
    BirthRecordFound,
    BirthRecordNotFound,
    RegistryAnswerInvalid,
    RegistryRejected,
    RegistryUnavailable,
    SubmissionAccepted,
    SubmissionStatus,
)
from civil_registry_bridge.domain.request import BirthRequest
from civil_registry_bridge.domain.rules import BridgeRules

# The same instants as conftest.py (importlib mode: conftest is not importable).
NOW = datetime(2024, 6, 14, 10, 0, tzinfo=timezone.utc)  # a Friday
CHILD_BIRTH = date(2024, 6, 12)

SECOND = timedelta(seconds=1)


def event_types(request: BirthRequest) -> list[type]:
    return [type(e) for e in request.collect_events()]


def found(iin: str, **changes) -> BirthRecordFound:
    record = BirthRecordFound(certificate_number="I-AL 0123456", child_iin=iin,
                              child_birth_date=CHILD_BIRTH, child_sex="female")
    return replace(record, **changes)


# --- receipt -------------------------------------------------------------------------------

def test_receive_records_the_request_due_now(make_request):
    request = make_request()
    assert request.state == "received"
    assert request.is_due(NOW)
    assert request.registration_deadline == date(2024, 6, 17)
    assert request.collect_events() == []


def test_submission_without_medical_birth_certificate_is_refused(make_request):
    for missing in (None, "", "   "):
        with pytest.raises(InvalidInput) as refused:
            make_request(kind="submission", medical_birth_certificate_number=missing)
        assert refused.value.rule == rq.RULE_MEDICAL_CERTIFICATE


def test_verification_without_medical_birth_certificate_is_fine(make_request):
    assert make_request(medical_birth_certificate_number=None).state == "received"


def test_unknown_kind_and_empty_idempotency_key_are_refused(make_request):
    with pytest.raises(InvalidInput) as refused:
        make_request(kind="registration", idempotency_key=" ")
    assert {e["field"] for e in refused.value.extra["errors"]} == {"kind", "idempotency_key"}


def test_impossible_details_are_refused_at_receipt(make_request, child_doc, mother_doc):
    mother_doc["birth_date"] = "2024-07-01"
    with pytest.raises(InvalidInput) as refused:
        make_request(mother=ParentDetails.from_document(mother_doc, "mother"))
    assert refused.value.rule == "child_born_after_mother"
    child_doc["birth_date"] = "2024-06-20"
    with pytest.raises(InvalidInput) as refused:
        make_request(child=ChildDetails.from_document(child_doc))
    assert refused.value.rule == "child_not_born_in_future"


def test_malformed_parent_iin_is_refused_at_receipt(make_request, mother_doc):
    mother = ParentDetails(surname="K", given_name="M", iin="950301450000")
    with pytest.raises(InvalidInput) as refused:
        make_request(mother=mother)
    assert refused.value.rule == "iin_well_formed"


def test_submission_of_a_birth_abroad_is_refused(make_request, child_doc):
    child_doc["place_of_birth"] = {"in_kazakhstan": False, "country": "UZ"}
    child = ChildDetails.from_document(child_doc)
    with pytest.raises(RuleViolation) as refused:
        make_request(kind="submission", child=child)
    assert refused.value.rule == rq.RULE_BIRTH_IN_KAZAKHSTAN


# --- verification ----------------------------------------------------------------------------

def test_verified_with_certificate_number_and_iin(make_request, rules, child_iin):
    request = make_request()
    request.begin_verification(NOW)
    assert request.state == "verifying" and request.is_due(NOW)
    request.record_verification(found(child_iin), NOW + SECOND, rules)
    assert request.state == "verified"
    assert (request.certificate_number, request.child_iin) == ("I-AL 0123456", child_iin)
    [event] = request.collect_events()
    assert isinstance(event, ev.BirthVerified)
    assert (event.certificate_number, event.child_iin, event.person_id) == ("I-AL 0123456", child_iin, "person-7")
    assert to_jsonable(event)["occurred_at"] == (NOW + SECOND).isoformat()
    assert not request.is_due(NOW + timedelta(days=1))
    assert not request.is_stuck(NOW + timedelta(days=1), rules.stuck_after)


def test_same_verification_answer_twice_is_one(make_request, rules, child_iin):
    request = make_request()
    request.begin_verification(NOW)
    request.record_verification(found(child_iin), NOW, rules)
    request.record_verification(found(child_iin), NOW, rules)
    assert event_types(request) == [ev.BirthVerified]


def test_iin_whose_encoded_date_differs_is_not_a_contradiction(make_request, rules):
    # Resolution No. 853: the date inside the IIN is a hint only.
    other_date_iin = make_iin(date(2019, 1, 1), "male", 9)
    request = make_request()
    request.begin_verification(NOW)
    request.record_verification(found(other_date_iin), NOW, rules)
    assert request.state == "verified"


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"child_birth_date": date(2024, 6, 11)}, "birth date"),
        ({"child_sex": "male"}, "sex"),
        ({"certificate_number": " "}, "no certificate number"),
        ({"child_iin": "123456789012"}, "not an IIN"),
    ],
)
def test_contradicting_or_malformed_record_quarantines(make_request, rules, child_iin, changes, words):
    request = make_request()
    request.begin_verification(NOW)
    request.record_verification(found(child_iin, **changes), NOW, rules)
    assert request.state == "quarantined"
    assert words in request.reason
    assert request.certificate_number is None and request.child_iin is None
    [event] = request.collect_events()
    assert isinstance(event, ev.BirthRequestQuarantined)
    assert event.step == "verifying" and words in event.reason
    assert not request.is_due(NOW + timedelta(days=1))


def test_record_with_another_iin_than_requested_quarantines(make_request, rules, child_doc, child_iin):
    child_doc["iin"] = child_iin
    request = make_request(child=ChildDetails.from_document(child_doc))
    request.begin_verification(NOW)
    request.record_verification(found(make_iin(CHILD_BIRTH, "female", 43)), NOW, rules)
    assert request.state == "quarantined"


def test_record_with_another_certificate_than_requested_quarantines(make_request, rules, child_iin):
    request = make_request(birth_certificate_number="I-AL 9999999")
    assert request.verification_query().certificate_number == "I-AL 9999999"
    request.begin_verification(NOW)
    request.record_verification(found(child_iin), NOW, rules)
    assert request.state == "quarantined"


def test_verification_must_begin_first(make_request, rules, child_iin):
    request = make_request()
    with pytest.raises(RuleViolation) as refused:
        request.record_verification(found(child_iin), NOW, rules)
    assert refused.value.rule == rq.RULE_TRANSITION
    request.begin_verification(NOW)
    with pytest.raises(RuleViolation):
        request.begin_verification(NOW)


# --- not found -> submission -> registered / rejected --------------------------------------------

def verified_missing(make_request, rules, **overrides) -> BirthRequest:
    request = make_request(**overrides)
    request.begin_verification(NOW)
    request.record_verification(BirthRecordNotFound(), NOW, rules)
    return request


def test_not_found_in_kazakhstan_is_submitted_automatically(make_request, rules):
    request = verified_missing(make_request, rules)
    assert request.state == "submitting" and request.is_due(NOW)
    [event] = request.collect_events()
    assert isinstance(event, ev.BirthNotFound) and event.will_submit
    submission = request.submission()
    assert submission.idempotency_key == "key-1"
    assert submission.medical_birth_certificate_number == "MBC-2024-000123"


def test_not_found_stays_not_found_when_auto_submit_is_off(make_request):
    rules = BridgeRules(auto_submit_when_not_found=False)
    request = verified_missing(make_request, rules)
    assert request.state == "not_found"
    [event] = request.collect_events()
    assert not event.will_submit
    assert not request.is_stuck(NOW + timedelta(days=30), rules.stuck_after)
    request.begin_submission(NOW)  # an explicit decision to submit is still possible
    assert request.state == "submitting"


def test_submission_request_is_submitted_even_when_auto_submit_is_off(make_request):
    rules = BridgeRules(auto_submit_when_not_found=False)
    request = verified_missing(make_request, rules, kind="submission")
    assert request.state == "submitting"


def test_not_found_without_medical_certificate_is_not_submitted(make_request, rules):
    request = verified_missing(make_request, rules, medical_birth_certificate_number=None)
    assert request.state == "not_found"
    with pytest.raises(RuleViolation) as refused:
        request.submission()
    assert refused.value.rule == rq.RULE_MEDICAL_CERTIFICATE


def test_not_found_abroad_is_not_submitted(make_request, rules, child_doc):
    child_doc["place_of_birth"] = {"in_kazakhstan": False, "country": "KG"}
    request = verified_missing(make_request, rules, child=ChildDetails.from_document(child_doc))
    assert request.state == "not_found"


def test_begin_submission_refuses_without_medical_certificate(make_request, rules):
    request = verified_missing(make_request, BridgeRules(auto_submit_when_not_found=False),
                               medical_birth_certificate_number=None)
    request.kind = "submission"  # e.g. a stored request whose basis was lost
    with pytest.raises(RuleViolation) as refused:
        request.begin_submission(NOW)
    assert refused.value.rule == rq.RULE_MEDICAL_CERTIFICATE
    assert request.state == "not_found"


def test_submission_request_may_skip_verification(make_request, rules):
    request = make_request(kind="submission")
    request.begin_submission(NOW)
    assert request.state == "submitting"


def test_full_path_to_registered(make_request, rules, child_iin):
    request = verified_missing(make_request, rules)
    request.record_submission_accepted(SubmissionAccepted("sub-1"), NOW + SECOND, rules)
    assert request.state == "submitted" and request.submission_id == "sub-1"
    assert request.next_attempt_at == NOW + SECOND + rules.status_poll_interval
    poll_at = request.next_attempt_at
    request.record_submission_status(SubmissionStatus("sub-1", "pending"), poll_at, rules)
    assert request.state == "submitted" and request.next_attempt_at == poll_at + rules.status_poll_interval
    request.record_submission_status(
        SubmissionStatus("sub-1", "registered", certificate_number="I-AL 7654321", child_iin=child_iin),
        poll_at + SECOND, rules)
    assert request.state == "registered"
    assert (request.certificate_number, request.child_iin) == ("I-AL 7654321", child_iin)
    assert event_types(request) == [ev.BirthNotFound, ev.BirthRegistrationSubmitted, ev.BirthRegistered]


def test_submitted_event_carries_deadline_and_lateness(make_request, rules):
    request = verified_missing(make_request, rules)
    request.record_submission_accepted(SubmissionAccepted("sub-1"), NOW, rules)
    submitted = request.collect_events()[-1]
    assert submitted.registration_deadline == "2024-06-17" and submitted.late is False
    late = verified_missing(make_request, rules)
    late.record_submission_accepted(SubmissionAccepted("sub-2"), NOW + timedelta(days=4), rules)
    assert late.collect_events()[-1].late is True  # late is reported, never refused


def test_rejected_with_reason(make_request, rules):
    request = verified_missing(make_request, rules)
    request.record_submission_accepted(SubmissionAccepted("sub-1"), NOW, rules)
    request.record_submission_status(SubmissionStatus("sub-1", "rejected", reason="duplicate record"), NOW, rules)
    assert request.state == "rejected" and request.reason == "duplicate record"
    event = request.collect_events()[-1]
    assert isinstance(event, ev.BirthRegistrationRejected)
    assert (event.submission_id, event.reason) == ("sub-1", "duplicate record")


def test_registry_4xx_on_submit_rejects(make_request, rules):
    request = verified_missing(make_request, rules)
    request.record_failure(RegistryRejected("medical certificate unknown", status=422), NOW, rules, random.random)
    assert request.state == "rejected"
    assert event_types(request)[-1] is ev.BirthRegistrationRejected


def test_registry_4xx_on_verify_quarantines(make_request, rules):
    request = make_request()
    request.begin_verification(NOW)
    request.record_failure(RegistryRejected("bad query", status=400), NOW, rules, random.random)
    assert request.state == "quarantined" and "bad query" in request.reason


def test_registered_status_without_certificate_or_with_bad_iin_quarantines(make_request, rules):
    for status in (SubmissionStatus("sub-1", "registered", certificate_number=None, child_iin="x"),
                   SubmissionStatus("sub-1", "registered", certificate_number="I-AL 1", child_iin="000000000001")):
        request = verified_missing(make_request, rules)
        request.record_submission_accepted(SubmissionAccepted("sub-1"), NOW, rules)
        request.record_submission_status(status, NOW, rules)
        assert request.state == "quarantined"
        assert event_types(request)[-1] is ev.BirthRequestQuarantined


def test_status_for_another_submission_quarantines(make_request, rules):
    request = verified_missing(make_request, rules)
    request.record_submission_accepted(SubmissionAccepted("sub-1"), NOW, rules)
    request.record_submission_status(SubmissionStatus("sub-9", "pending"), NOW, rules)
    assert request.state == "quarantined" and "sub-9" in request.reason


def test_acceptance_without_submission_id_quarantines(make_request, rules):
    request = verified_missing(make_request, rules)
    request.record_submission_accepted(SubmissionAccepted(""), NOW, rules)
    assert request.state == "quarantined"


def test_answer_invalid_quarantines(make_request, rules):
    request = verified_missing(make_request, rules)
    request.record_failure(RegistryAnswerInvalid("body is not JSON"), NOW, rules, random.random)
    assert request.state == "quarantined" and "not JSON" in request.reason
    with pytest.raises(RuleViolation):
        request.quarantine("again", NOW)


def test_callback_before_the_submit_response(make_request, rules, child_iin):
    request = verified_missing(make_request, rules)
    registered = SubmissionStatus("sub-1", "registered", certificate_number="I-AL 1", child_iin=child_iin)
    request.record_submission_status(registered, NOW, rules)
    assert request.state == "registered"
    request.record_submission_accepted(SubmissionAccepted("sub-1"), NOW + SECOND, rules)  # late response
    request.record_submission_status(registered, NOW + 2 * SECOND, rules)  # and the poll
    assert request.state == "registered"
    assert event_types(request) == [ev.BirthNotFound, ev.BirthRegistrationSubmitted, ev.BirthRegistered]
    with pytest.raises(RuleViolation) as refused:
        request.record_submission_accepted(SubmissionAccepted("sub-2"), NOW, rules)
    assert refused.value.rule == rq.RULE_ANSWER_CONSISTENT


# --- the parents' legal status never blocks (2019 amendments) ------------------------------------

STATUSES = [None, "citizen", "refugee", "asylum_seeker", "stateless", "foreigner", "undocumented",
            "irregular migrant", "unknown", "no documents at all", "неизвестно"]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("nationality", [None, "KZ", "AF", "stateless", "unknown"])
def test_parents_legal_status_never_blocks_submission(make_request, rules, child_iin, status, nationality):
    mother = ParentDetails(surname="Karimova", given_name="Madina", birth_date=date(1995, 3, 1),
                           legal_status=status, nationality=nationality)
    father = ParentDetails(surname="Karimov", given_name="Farid", legal_status=status, nationality=nationality)
    for kind in ("verification", "submission"):
        request = make_request(kind=kind, mother=mother, father=father)
        request.begin_verification(NOW)
        request.record_verification(BirthRecordNotFound(), NOW, rules)
        assert request.state == "submitting"
        assert request.submission().mother.legal_status == status
        request.record_submission_accepted(SubmissionAccepted("sub-1"), NOW, rules)
        request.record_submission_status(
            SubmissionStatus("sub-1", "registered", certificate_number="I-AL 1", child_iin=child_iin), NOW, rules)
        assert request.state == "registered"


def test_unknown_parents_do_not_block_submission(make_request, rules):
    request = make_request(kind="submission", mother=None, father=None)
    request.begin_submission(NOW)
    assert request.submission().mother is None


def test_events_do_not_carry_the_parents_status(make_request, rules, child_iin):
    request = verified_missing(make_request, rules)
    request.record_submission_accepted(SubmissionAccepted("sub-1"), NOW, rules)
    text = json.dumps([to_jsonable(e) for e in request.collect_events()])
    assert "asylum_seeker" not in text and "undocumented" not in text


# --- retries, parking, stuck -----------------------------------------------------------------

def test_unavailable_schedules_a_jittered_retry(make_request, rules):
    request = make_request()
    request.begin_verification(NOW)
    request.record_failure(RegistryUnavailable("timeout"), NOW, rules, lambda: 0.0)
    assert request.state == "verifying"
    assert (request.attempts, request.last_error) == (1, "timeout")
    assert request.next_attempt_at == NOW + timedelta(milliseconds=500)
    assert not request.is_due(NOW) and request.is_due(NOW + SECOND)
    request.record_unavailable("503", NOW + SECOND, rules, lambda: 0.0)
    assert request.attempts == 2 and request.next_attempt_at == NOW + SECOND + SECOND


def test_success_clears_attempts_and_error(make_request, rules):
    request = make_request()
    request.begin_verification(NOW)
    request.record_unavailable("timeout", NOW, rules, lambda: 0.5)
    request.record_verification(BirthRecordNotFound(), NOW + SECOND, rules)
    assert request.state == "submitting"
    assert (request.attempts, request.last_error) == (0, None)


def test_poll_failures_are_retried_too(make_request, rules):
    request = verified_missing(make_request, rules)
    request.record_submission_accepted(SubmissionAccepted("sub-1"), NOW, rules)
    request.record_unavailable("circuit open", NOW, rules, lambda: 0.0)
    assert request.state == "submitted" and request.attempts == 1


def test_unavailable_outside_a_call_is_refused(make_request, rules):
    request = make_request()
    with pytest.raises(RuleViolation):
        request.record_unavailable("timeout", NOW, rules, lambda: 0.0)


def test_attempts_exhausted_parks_then_resumes(make_request):
    rules = BridgeRules(max_attempts=3)
    request = verified_missing(make_request, rules)
    for n in range(3):
        request.record_unavailable(f"outage {n}", NOW + n * SECOND, rules, lambda: 0.0)
    assert request.state == "parked" and request.parked_from == "submitting"
    assert not request.is_due(NOW + timedelta(days=1))
    parked = request.collect_events()[-1]
    assert isinstance(parked, ev.BirthRequestParked)
    assert (parked.step, parked.attempts, parked.last_error) == ("submitting", 3, "outage 2")
    assert not request.is_stuck(NOW + rules.stuck_after - SECOND, rules.stuck_after)
    assert request.is_stuck(NOW + 2 * SECOND + rules.stuck_after, rules.stuck_after)
    later = NOW + timedelta(hours=1)
    request.resume(later)
    assert request.state == "submitting" and request.attempts == 0 and request.is_due(later)


def test_attempts_exhausted_quarantines_when_configured(make_request):
    rules = BridgeRules(max_attempts=2, on_attempts_exhausted="quarantine")
    request = make_request()
    request.begin_verification(NOW)
    request.record_unavailable("timeout", NOW, rules, lambda: 0.0)
    request.record_unavailable("timeout", NOW, rules, lambda: 0.0)
    assert request.state == "quarantined" and "2 attempts failed" in request.reason


def test_is_stuck(make_request, rules):
    request = make_request()
    stuck_after = timedelta(minutes=15)
    assert not request.is_stuck(NOW + timedelta(minutes=14), stuck_after)
    assert request.is_stuck(NOW + timedelta(minutes=15), stuck_after)  # never picked up
    request.begin_verification(NOW + timedelta(minutes=20))
    assert not request.is_stuck(NOW + timedelta(minutes=30), stuck_after)
    assert request.is_stuck(NOW + timedelta(minutes=35), stuck_after)  # worker died mid-call
    # a retry scheduled far ahead is waiting, not stuck, until it is overdue
    request.next_attempt_at = NOW + timedelta(hours=2)
    assert not request.is_stuck(NOW + timedelta(hours=2, minutes=10), stuck_after)
    assert request.is_stuck(NOW + timedelta(hours=2, minutes=15), stuck_after)


# --- idempotency and documents ------------------------------------------------------------

def test_same_key_same_content_is_the_same_request(make_request):
    make_request().ensure_same_request(make_request(request_id="req-2"))


def test_same_key_other_content_is_refused(make_request, mother_doc):
    other = make_request(medical_birth_certificate_number="MBC-OTHER")
    with pytest.raises(RuleViolation) as refused:
        make_request().ensure_same_request(other)
    assert refused.value.rule == rq.RULE_IDEMPOTENCY


def test_document_round_trip_in_every_state(make_request, rules, child_iin):
    request = make_request()
    snapshots = [request.to_document()]
    request.begin_verification(NOW)
    request.record_unavailable("timeout", NOW, rules, lambda: 0.3)
    snapshots.append(request.to_document())
    request.record_verification(BirthRecordNotFound(), NOW, rules)
    request.record_submission_accepted(SubmissionAccepted("sub-1"), NOW, rules)
    snapshots.append(request.to_document())
    request.record_submission_status(
        SubmissionStatus("sub-1", "registered", certificate_number="I-AL 1", child_iin=child_iin), NOW, rules)
    snapshots.append(request.to_document())
    for doc in snapshots:
        encoded = json.loads(json.dumps(doc))
        restored = BirthRequest.from_document(encoded)
        assert restored.to_document() == doc
        assert restored.collect_events() == []
    assert BirthRequest.from_document(request.to_document()) == request


def test_parked_and_quarantined_round_trip(make_request):
    rules = BridgeRules(max_attempts=1)
    request = verified_missing(make_request, rules)
    request.record_unavailable("down", NOW, rules, lambda: 0.0)
    restored = BirthRequest.from_document(json.loads(json.dumps(request.to_document())))
    assert restored.state == "parked" and restored.parked_from == "submitting"
    restored.resume(NOW)
    restored.quarantine("operator set aside", NOW)
    again = BirthRequest.from_document(restored.to_document())
    assert (again.state, again.reason) == ("quarantined", "operator set aside")


def test_unknown_document_version_is_refused(make_request):
    doc = make_request().to_document() | {"version": 99}
    with pytest.raises(InvalidInput):
        BirthRequest.from_document(doc)


# A document as the bridge stored it before pana_kit.documents wrote it (same bytes, same key order).
STORED_BEFORE = (
    '{"version": 1, "request_id": "req-1", "kind": "verification", "idempotency_key": "key-1", "child": {'
    '"surname": "Nurlanova", "given_name": "Aigerim", "patronymic": null, "birth_date": "2024-06-12", "se'
    'x": "female", "place_of_birth": {"in_kazakhstan": true, "region": "Almaty", "locality": "Almaty", "c'
    'ountry": "KZ"}, "iin": null}, "mother": {"surname": "Karimova", "given_name": "Madina", "patronymic"'
    ': null, "birth_date": "1995-03-01", "iin": null, "nationality": "AF", "legal_status": "asylum_seeker'
    '", "residence": null}, "father": null, "medical_birth_certificate_number": "MBC-2024-000123", "birth'
    '_certificate_number": null, "person_id": "person-7", "received_at": "2024-06-14T10:00:00+00:00", "re'
    'gistration_deadline": "2024-06-17", "state": "submitted", "updated_at": "2024-06-14T10:00:02+00:00",'
    ' "attempts": 0, "next_attempt_at": "2024-06-14T10:00:32+00:00", "last_error": null, "submission_id":'
    ' "sub-1", "certificate_number": null, "child_iin": null, "reason": null, "parked_from": null}'
)


def test_a_document_stored_before_loads_and_is_written_back_the_same():
    request = BirthRequest.from_document(json.loads(STORED_BEFORE))
    assert (request.state, request.submission_id, request.mother.legal_status) == ("submitted", "sub-1", "asylum_seeker")
    assert request.child.place_of_birth.country == "KZ" and request.registration_deadline == date(2024, 6, 17)
    assert request.next_attempt_at == datetime(2024, 6, 14, 10, 0, 32, tzinfo=timezone.utc)
    assert json.dumps(request.to_document()) == STORED_BEFORE
