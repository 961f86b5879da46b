"""The topic registry: who publishes what, keyed by what, and who listens.

One place to read the event flows of the whole system; the AsyncAPI document,
the committed JSON Schemas and topic creation are all generated from it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from .events import Event, civil_registry, registration, rsd, statelessness


def _events_of(module) -> tuple[type[Event], ...]:
    return tuple(
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Event) and cls is not Event and cls.__module__ == module.__name__
    )


@dataclass(frozen=True)
class Topic:
    name: str
    producer: str
    consumers: tuple[str, ...]
    key: str
    partitions: int
    events: tuple[type[Event], ...]
    description: str


TOPICS: tuple[Topic, ...] = (
    Topic(
        name="registration.events",
        producer="registration",
        consumers=("rsd", "statelessness", "civil-registry-bridge"),
        key="person id (the child's for births)",
        partitions=6,
        events=_events_of(registration),
        description="People, households, referrals, legal status and documents.",
    ),
    Topic(
        name="rsd.events",
        producer="rsd",
        consumers=("registration", "statelessness"),
        key="person id of the principal applicant",
        partitions=6,
        events=_events_of(rsd),
        description="Refugee status determination, from lodging to appeal and ending of status.",
    ),
    Topic(
        name="statelessness.events",
        producer="statelessness",
        consumers=("registration",),
        key="person id",
        partitions=6,
        events=_events_of(statelessness),
        description="Statelessness determination, children at risk, naturalization.",
    ),
    Topic(
        name="civil-registry.events",
        producer="civil-registry-bridge",
        consumers=("registration", "statelessness"),
        key="child person id, or the request id",
        partitions=6,
        events=_events_of(civil_registry),
        description="Birth verification and registration through the civil registry.",
    ),
)

TOPIC_BY_NAME = {t.name: t for t in TOPICS}
EVENT_TYPES: dict[str, type[Event]] = {e.event_type: e for t in TOPICS for e in t.events}
TOPIC_OF_EVENT: dict[str, str] = {e.event_type: t.name for t in TOPICS for e in t.events}


def topic_of(event: type[Event] | Event) -> str:
    return TOPIC_OF_EVENT[event.event_type]


def topics_consumed_by(service: str) -> list[str]:
    return [t.name for t in TOPICS if service in t.consumers]


def dead_letter_topic(group: str) -> str:
    return f"{group}.dlq"
