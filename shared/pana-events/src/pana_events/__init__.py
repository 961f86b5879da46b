"""Pana's event contract: envelope, typed events, topics, schemas. Depends on pydantic alone."""

from .envelope import Envelope, EnvelopeError, from_kafka, new_event_id, to_kafka
from .events import Event
from .topics import EVENT_TYPES, TOPICS, Topic, dead_letter_topic, topic_of, topics_consumed_by

__all__ = [
    "EVENT_TYPES",
    "Envelope",
    "EnvelopeError",
    "Event",
    "TOPICS",
    "Topic",
    "dead_letter_topic",
    "from_kafka",
    "new_event_id",
    "to_kafka",
    "topic_of",
    "topics_consumed_by",
]
