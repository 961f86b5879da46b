"""The committed event schemas are a promise to every consumer; these tests keep it."""

import copy
from datetime import date

import pytest
from pana_events import EVENT_TYPES, TOPICS, Envelope, EnvelopeError, from_kafka, to_kafka
from pana_events.asyncapi import asyncapi_document
from pana_events.events.rsd import ApplicationLodged
from pana_events.schema import all_schemas, breaking_changes, committed_schemas


def test_every_event_has_a_committed_schema():
    missing = set(EVENT_TYPES) - set(committed_schemas())
    assert not missing, f"run `uv run python -m pana_events write-schemas` and commit: {sorted(missing)}"


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_no_change_breaks_a_consumer(event_type):
    old = committed_schemas()[event_type]
    new = all_schemas()[event_type]
    assert breaking_changes(old, new) == [], "breaking change: publish a new version (.v2) beside the old one"


def _schema():
    return ApplicationLodged.model_json_schema(mode="serialization")


def test_removing_a_field_is_breaking():
    old, new = _schema(), _schema()
    del new["properties"]["office"]
    assert breaking_changes(old, new) == ["office: removed or renamed"]


def test_retyping_a_field_is_breaking():
    old, new = _schema(), _schema()
    new["properties"]["lodged_on"] = {"type": "integer"}
    assert any("lodged_on: type changed" in p for p in breaking_changes(old, new))


def test_making_a_field_required_is_breaking():
    old, new = _schema(), _schema()
    new["required"] = [*new["required"], "office"]
    assert breaking_changes(old, new) == ["office: made required"]


def test_adding_an_optional_field_or_widening_an_enum_is_compatible():
    old, new = _schema(), copy.deepcopy(_schema())
    new["properties"]["new_optional"] = {"type": "string"}
    new["properties"]["processing_mode"]["enum"].append("merged")
    assert breaking_changes(old, new) == []


def test_narrowing_an_enum_is_breaking():
    old, new = _schema(), copy.deepcopy(_schema())
    new["properties"]["processing_mode"]["enum"].remove("simplified")
    assert breaking_changes(old, new)


def test_envelope_round_trips_through_kafka_binary_mode():
    event = ApplicationLodged(
        application_id="a1", person_id="p1", lodged_on=date(2026, 1, 2), registered_on=date(2026, 1, 2),
        decision_due=date(2026, 4, 2),
    )
    env = Envelope(source="/pana/rsd", type=event.event_type, subject="p1", correlationid="c1",
                   causationid="e0", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
                   data=event.model_dump(mode="json"))
    key, headers, value = to_kafka(env)
    assert key == b"p1"
    assert ("ce_type", b"rsd.application.lodged.v1") in headers
    back = from_kafka(headers, value)
    assert back == env
    assert ApplicationLodged.model_validate(back.data) == event


def test_datacontenttype_travels_as_the_kafka_content_type_header_only():
    """The CloudEvents Kafka binding maps datacontenttype to `content-type`: one header, not two that could differ."""
    env = Envelope(source="/pana/rsd", type="rsd.application.lodged.v1", subject="p1", data={"a": 1})
    _, headers, value = to_kafka(env)
    names = [name for name, _ in headers]
    assert "ce_datacontenttype" not in names
    assert names.count("content-type") == 1 and dict(headers)["content-type"] == b"application/json"
    assert from_kafka(headers, value).datacontenttype == "application/json"


def test_a_record_written_before_with_ce_datacontenttype_is_still_read():
    env = Envelope(source="/pana/rsd", type="rsd.application.lodged.v1", subject="p1", data={"a": 1})
    _, headers, value = to_kafka(env)
    old = [*headers, ("ce_datacontenttype", b"application/json")]  # as every record carried before issue 17
    assert from_kafka(old, value) == env
    without_content_type = [h for h in old if h[0] != "content-type"]
    assert from_kafka(without_content_type, value) == env


def test_asyncapi_names_its_servers_and_the_content_type_header():
    doc = asyncapi_document()
    assert doc["servers"] and all(s["protocol"].startswith("kafka") for s in doc["servers"].values())
    headers = doc["components"]["messages"]["rsd_application_lodged_v1"]["headers"]
    assert "content-type" in headers["properties"]


@pytest.mark.parametrize(
    "headers,value,reason",
    [
        ([], b"{}", "missing CloudEvents headers"),
        ([("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t"), ("ce_specversion", b"0.3"), ("ce_subject", b"x")], b"{}", "specversion"),
        ([("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t"), ("ce_specversion", b"1.0"), ("ce_subject", b"x")], b"{not json", "not JSON"),
        ([("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t"), ("ce_specversion", b"1.0"), ("ce_subject", b"x")], b"[1]", "JSON object"),
        ([("ce_id", b"\xff"), ("ce_source", b"s"), ("ce_type", b"t"), ("ce_specversion", b"1.0"), ("ce_subject", b"x")], b"{}", "UTF-8"),
        ([("ce_id", b"1"), ("ce_source", b"s"), ("ce_type", b"t"), ("ce_specversion", b"1.0"), ("ce_subject", b"x")], None, "empty"),
    ],
)
def test_unreadable_records_are_refused_with_a_reason(headers, value, reason):
    with pytest.raises(EnvelopeError, match=reason):
        from_kafka(headers, value)


def test_consumers_ignore_unknown_fields():
    data = {"application_id": "a", "person_id": "p", "lodged_on": "2026-01-01", "registered_on": "2026-01-01",
            "decision_due": "2026-04-01", "field_from_the_future": 1}
    assert ApplicationLodged.model_validate(data).application_id == "a"


def test_every_topic_has_events_and_asyncapi_lists_them():
    doc = asyncapi_document()
    assert doc["asyncapi"] == "3.0.0"
    for topic in TOPICS:
        assert topic.events, topic.name
        channel = doc["channels"][topic.name.replace(".", "_")]
        assert channel["address"] == topic.name
        assert len(channel["messages"]) == len(topic.events)
    assert set(doc["components"]["messages"]) == {t.replace(".", "_") for t in EVENT_TYPES}


def test_event_types_are_versioned_and_unique():
    for event_type in EVENT_TYPES:
        assert event_type.rsplit(".", 1)[-1].startswith("v"), event_type
    assert len(EVENT_TYPES) == sum(len(t.events) for t in TOPICS)


def test_the_committed_asyncapi_document_is_current():
    """Integrators read `shared/pana-events/asyncapi.json` without running anything: regenerate it with
    `python -m pana_events write-schemas` whenever an event or topic changes."""
    from pana_events.asyncapi import COMMITTED_ASYNCAPI, asyncapi_text

    assert COMMITTED_ASYNCAPI.read_text() == asyncapi_text(), "run `python -m pana_events write-schemas`"
