"""At-least-once delivery end to end: redelivery changes nothing, poison goes to the dead-letter topic."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import httpx
import pytest
from support import HTTP_TIMEOUT, headers, produce, read_topic, wait_for

from pana_events import Envelope, to_kafka
from pana_events.events.registration import PersonRegistered, ReferralRegistered

pytestmark = pytest.mark.e2e


def _applications(stack, person_id):
    r = httpx.get(stack.url("rsd") + "/api/v1/applications", params={"person_id": person_id},
                  headers=headers("eligibility-officer"), timeout=HTTP_TIMEOUT)
    return r.json()["items"]


def _referral_records(person_id: str, event_id: str, referral_id: str):
    now = datetime.now(timezone.utc)
    person = PersonRegistered(person_id=person_id, registration_number="KZR-TEST", given_name="Test", family_name="Person",
                              sex="female", registered_at=now)
    referral = ReferralRegistered(referral_id=referral_id, person_id=person_id, crossing_point="Khorgos",
                                  referred_at=now, registered_at=now, language="uig", intent="asylum")
    return [
        to_kafka(Envelope(source="/pana/registration", type=person.event_type, subject=person_id,
                          data=person.model_dump(mode="json"))),
        to_kafka(Envelope(id=event_id, source="/pana/registration", type=referral.event_type, subject=person_id,
                          data=referral.model_dump(mode="json"))),
    ]


def test_an_event_delivered_twice_changes_nothing(stack):
    person_id, event_id, referral_id = (str(uuid.uuid4()) for _ in range(3))
    records = _referral_records(person_id, event_id, referral_id)
    produce(stack.kafka_bootstrap, "registration.events", records + records[1:])
    wait_for(lambda: _applications(stack, person_id), timeout=90, what="application from the produced event")
    # A later, third copy under the same id: still one application.
    produce(stack.kafka_bootstrap, "registration.events", records[1:])
    # A later event on the same partition (the copies' key): once it is handled, so are the copies before it.
    # (Under its own key it could sit on another partition and be handled first.)
    marker = str(uuid.uuid4())
    same_partition = [(person_id.encode(), hdrs, value)
                      for _, hdrs, value in _referral_records(marker, str(uuid.uuid4()), str(uuid.uuid4()))]
    produce(stack.kafka_bootstrap, "registration.events", same_partition)
    wait_for(lambda: _applications(stack, marker), timeout=90, what="a later event (so the copies were consumed)")
    assert len(_applications(stack, person_id)) == 1


def test_poison_messages_reach_the_dead_letter_topic_and_the_partition_moves_on(stack):
    poison_id = str(uuid.uuid4())
    person_id = str(uuid.uuid4())
    bad_headers = [("ce_id", poison_id.encode()), ("ce_source", b"/pana/registration"),
                   ("ce_type", b"registration.referral.registered.v1"),
                   ("ce_specversion", b"1.0"), ("ce_subject", person_id.encode())]
    produce(stack.kafka_bootstrap, "registration.events", [
        (person_id.encode(), bad_headers, b"{this is not json"),  # unreadable payload
        (person_id.encode(), bad_headers[:2], b"{}"),  # no CloudEvents type
        (person_id.encode(), [*bad_headers[:-1], ("ce_subject", person_id.encode())],
         json.dumps({"referral_id": 5}).encode()),  # fails the schema
    ])
    # A well-formed referral from someone who is not registration: forged, whatever it says.
    forged = _referral_records(person_id, str(uuid.uuid4()), str(uuid.uuid4()))[1]
    produce(stack.kafka_bootstrap, "registration.events", [
        (forged[0], [(k, b"/evil" if k == "ce_source" else v) for k, v in forged[1]], forged[2])])
    # Same key (same partition) right behind the poison: must still be handled.
    produce(stack.kafka_bootstrap, "registration.events", _referral_records(person_id, str(uuid.uuid4()), str(uuid.uuid4())))
    wait_for(lambda: _applications(stack, person_id), timeout=90, what="the valid event behind the poison")

    def dead_letters():
        records = read_topic(stack.kafka_bootstrap, "rsd.dlq")
        mine = [r for r in records if r.key == person_id.encode()]
        return mine if len(mine) >= 4 else None
    letters = wait_for(dead_letters, timeout=120, what="four dead letters in rsd.dlq")
    reasons = [dict(r.headers)["dlq_reason"].decode() for r in letters]
    assert any("not JSON" in r for r in reasons)
    assert any("missing CloudEvents headers" in r for r in reasons)
    assert any("does not match" in r for r in reasons)
    assert any("not of this topic" in r for r in reasons)
    assert all(dict(r.headers)["dlq_topic"] == b"registration.events" for r in letters)


def test_an_event_type_nobody_handles_is_skipped_not_dead_lettered(stack):
    person_id = str(uuid.uuid4())
    env = Envelope(source="/pana/registration", type="registration.something.new.v9", subject=person_id, data={"x": 1})
    produce(stack.kafka_bootstrap, "registration.events", [to_kafka(env)])
    produce(stack.kafka_bootstrap, "registration.events", _referral_records(person_id, str(uuid.uuid4()), str(uuid.uuid4())))
    wait_for(lambda: _applications(stack, person_id), timeout=90, what="event after the unknown type")
    assert not [r for r in read_topic(stack.kafka_bootstrap, "rsd.dlq") if r.key == person_id.encode()]
