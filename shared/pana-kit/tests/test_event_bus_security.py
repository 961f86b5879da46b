"""The event bus's security in the kit: Kafka security settings, refused at start when unsafe; and a consumer
that dead-letters an event not of its topic (a type of another topic, or a `source` other than the topic's
producer), changing nothing. No broker here: the consumer's own code runs on a real SQLite database with a
stand-in for the dead-letter producer only; tests/test_kafka_sasl.py has the broker with SASL_SSL and ACLs.
"""

from __future__ import annotations

import ssl
from datetime import date

import pytest
from sqlalchemy import select

from pana_events import Envelope
from pana_events.events.registration import PersonRegistered
from pana_events.events.rsd import DecisionIssued
from pana_dev.testing import DeadLetterProducer, Record
from pana_kit.consumer import EventConsumer, foreign_to_topic
from pana_kit.db import Database
from pana_kit.kafka import security_options
from pana_kit.outbox import OutboxSignal
from pana_kit.settings import ServiceSettings, SettingsError, load_settings, refuse_unsafe_start
from pana_kit.tables import KIT_METADATA, InboxMessage


class RegistrationLike(ServiceSettings):
    model_config = {**ServiceSettings.model_config, "env_prefix": "REGISTRATION_"}


# -- settings --------------------------------------------------------------------------------------

def test_plaintext_is_refused_at_start_outside_dev_mode_naming_the_setting(monkeypatch):
    for name in ("REGISTRATION_DEV_MODE", "REGISTRATION_KAFKA_SECURITY_PROTOCOL", "REGISTRATION_KAFKA_ALLOW_PLAINTEXT"):
        monkeypatch.delenv(name, raising=False)
    production = load_settings(RegistrationLike)  # the default protocol is PLAINTEXT
    with pytest.raises(SettingsError, match="REGISTRATION_KAFKA_SECURITY_PROTOCOL: PLAINTEXT outside dev mode") as refused:
        refuse_unsafe_start(production)
    assert "REGISTRATION_KAFKA_ALLOW_PLAINTEXT" in str(refused.value)  # the way out is named, for a private network

    monkeypatch.setenv("REGISTRATION_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    with pytest.raises(SettingsError, match="REGISTRATION_KAFKA_SECURITY_PROTOCOL: SASL_PLAINTEXT sends events"):
        refuse_unsafe_start(load_settings(RegistrationLike, kafka_sasl_username="registration", kafka_sasl_password="pw"))

    monkeypatch.setenv("REGISTRATION_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    monkeypatch.setenv("REGISTRATION_KAFKA_ALLOW_PLAINTEXT", "true")
    refuse_unsafe_start(load_settings(RegistrationLike))  # the operator's explicit choice
    monkeypatch.delenv("REGISTRATION_KAFKA_ALLOW_PLAINTEXT")
    monkeypatch.setenv("REGISTRATION_DEV_MODE", "true")
    refuse_unsafe_start(load_settings(RegistrationLike))  # development


def test_serve_refuses_before_building_the_app(monkeypatch, capsys):
    """`python -m <service>` runs `serve`: the refusal happens there, before anything listens or connects."""
    from pana_kit.serve import serve

    for name in ("REGISTRATION_DEV_MODE", "REGISTRATION_KAFKA_SECURITY_PROTOCOL", "REGISTRATION_KAFKA_ALLOW_PLAINTEXT"):
        monkeypatch.delenv(name, raising=False)

    def create(settings):
        raise AssertionError("the app was built with a plaintext broker in production")

    with pytest.raises(SystemExit) as exit_:
        serve(create, RegistrationLike)
    assert exit_.value.code == 2
    assert "REGISTRATION_KAFKA_SECURITY_PROTOCOL" in capsys.readouterr().err


def test_sasl_needs_the_services_credentials_and_an_unknown_protocol_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("REGISTRATION_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(SettingsError) as refused:
        refuse_unsafe_start(load_settings(RegistrationLike, kafka_ssl_cafile=str(tmp_path / "missing-ca.pem")))
    message = str(refused.value)
    assert "REGISTRATION_KAFKA_SASL_USERNAME: required with SASL_SSL" in message
    assert "REGISTRATION_KAFKA_SASL_PASSWORD: required with SASL_SSL" in message
    assert "REGISTRATION_KAFKA_SSL_CAFILE" in message and "not a readable file" in message

    monkeypatch.setenv("REGISTRATION_KAFKA_SECURITY_PROTOCOL", "SSL")
    with pytest.raises(SettingsError, match="REGISTRATION_KAFKA_SSL_CERTFILE, REGISTRATION_KAFKA_SSL_KEYFILE"):
        refuse_unsafe_start(load_settings(RegistrationLike))  # mutual TLS: the client certificate is the identity

    monkeypatch.setenv("REGISTRATION_KAFKA_SECURITY_PROTOCOL", "TLS_PLEASE")
    with pytest.raises(SettingsError, match="REGISTRATION_KAFKA_SECURITY_PROTOCOL"):
        load_settings(RegistrationLike)
    monkeypatch.setenv("REGISTRATION_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("REGISTRATION_KAFKA_SASL_MECHANISM", "GSSAPI")
    with pytest.raises(SettingsError, match="REGISTRATION_KAFKA_SASL_MECHANISM"):
        load_settings(RegistrationLike)


def test_every_client_gets_the_services_sasl_ssl_options():
    settings = ServiceSettings(service_name="rsd", kafka_security_protocol="SASL_SSL", kafka_sasl_username="rsd",
                               kafka_sasl_password="s3cret")
    options = security_options(settings)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("rsd", "s3cret")
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert "s3cret" not in repr(settings)
    assert security_options(ServiceSettings(dev_mode=True)) == {"security_protocol": "PLAINTEXT"}


# -- the consumer refuses an event not of its topic ------------------------------------------------

def decision(person: str) -> DecisionIssued:
    return DecisionIssued(application_id="app-1", person_id=person, member_ids=[person], outcome="recognised",
                          decided_on=date(2026, 11, 30))


def record(topic: str, source: str, event, offset: int = 0, event_type: str | None = None) -> Record:
    envelope = Envelope(source=source, type=event_type or event.event_type, subject=event.person_id,
                        data=event.model_dump(mode="json"))
    return Record.of(topic, envelope, offset=offset)


@pytest.fixture
async def registration_consumer(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'registration.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(KIT_METADATA.create_all)
    handled = []

    async def on_decision(event, envelope, uow):
        handled.append(envelope.id)  # registration would issue a refugee certificate here

    consumer = EventConsumer(db, ServiceSettings(service_name="registration", dev_mode=True, otel_enabled=False),
                             OutboxSignal(), ["rsd.events", "statelessness.events"],
                             {DecisionIssued.event_type: on_decision}, "/pana/registration")
    consumer.producer = DeadLetterProducer()

    async def inbox() -> list[str]:
        async with db.session() as session:
            return list((await session.execute(select(InboxMessage.event_id))).scalars())

    yield consumer, handled, inbox
    await db.dispose()


async def test_a_forged_source_and_a_foreign_type_are_dead_lettered_with_their_reason_and_change_nothing(registration_consumer):
    consumer, handled, inbox = registration_consumer

    # rsd's decision, but written by someone else (registration's source) on rsd.events
    forged = await consumer.handle_record(record("rsd.events", "/pana/registration", decision("p1"), offset=1))
    # rsd's decision type on statelessness.events, with statelessness as its source
    misrouted = await consumer.handle_record(record("statelessness.events", "/pana/statelessness", decision("p2"), offset=2))
    # a registration type on rsd.events (its payload is valid for that type)
    person = PersonRegistered(person_id="p3", registration_number="R-1", given_name="Aruzhan", family_name="Sadykova",
                              sex="female", registered_at="2026-11-30T09:00:00Z")
    foreign = await consumer.handle_record(record("rsd.events", "/pana/rsd", person, offset=3))
    # a type of no topic's namespace
    stranger = await consumer.handle_record(record("rsd.events", "/pana/rsd", decision("p4"), offset=4,
                                                   event_type="payments.refund.issued.v1"))

    assert [o.name for o in (forged, misrouted, foreign, stranger)] == ["dead_lettered"] * 4
    assert handled == [] and await inbox() == []  # nothing changed: no certificate, not even an inbox row
    reasons = {headers["dlq_offset"]: headers["dlq_reason"].decode() for _, _, headers in consumer.producer.sent}
    assert [topic for topic, _, _ in consumer.producer.sent] == ["registration.dlq"] * 4
    assert reasons[b"1"] == "not of this topic: source /pana/registration is not the producer of rsd.events (/pana/rsd)"
    assert reasons[b"2"] == ("not of this topic: event type rsd.decision.issued.v1 belongs to rsd.events, "
                             "not statelessness.events")
    assert reasons[b"3"] == ("not of this topic: event type registration.person.registered.v1 belongs to "
                             "registration.events, not rsd.events")
    assert reasons[b"4"].startswith("not of this topic: event type payments.refund.issued.v1 is not of rsd.events")


async def test_the_producers_own_events_still_pass_and_a_newer_type_of_the_topic_is_skipped(registration_consumer):
    consumer, handled, inbox = registration_consumer
    genuine = record("rsd.events", "/pana/rsd", decision("p1"))
    newer = record("rsd.events", "/pana/rsd", decision("p2"), offset=1, event_type="rsd.something.new.v9")

    assert (await consumer.handle_record(genuine)).name == "handled"
    assert (await consumer.handle_record(newer)).name == "skipped"  # forward compatible, as before
    assert len(handled) == 1 and len(await inbox()) == 2 and consumer.producer.sent == []


def test_the_rule_reads_the_topic_registry():
    def envelope(source, event_type):
        return Envelope(source=source, type=event_type, subject="s")

    assert foreign_to_topic("civil-registry.events",
                            envelope("/pana/civil-registry-bridge", "civil_registry.birth.registered.v1")) is None
    assert foreign_to_topic("civil-registry.events",
                            envelope("/pana/civil-registry-bridge", "civil-registry.something.new.v9")) is None
    assert "not the producer" in foreign_to_topic("civil-registry.events",
                                                  envelope("/pana/registration", "civil_registry.birth.registered.v1"))
    assert foreign_to_topic("some.test.topic", envelope("/pana/anyone", "anything.v1")) is None  # not in the registry
