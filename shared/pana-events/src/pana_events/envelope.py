"""The CloudEvents 1.0 envelope and its Kafka binary-mode encoding.

On Kafka every attribute travels as a `ce_*` header and the payload is the JSON
body; the key is the subject's id so one person's events stay ordered on one
partition. Consumers ignore unknown attributes and unknown payload fields.

`datacontenttype` is the one exception, as the CloudEvents Kafka protocol binding (binary mode) maps it:
it travels as the Kafka `content-type` header, never as `ce_datacontenttype`. Records written before
issue 17 carry both; `from_kafka` still reads them (`ce_datacontenttype` wins when present, as it did).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
# Attributes we carry beyond the CloudEvents core, as extensions.
EXTENSIONS = ("correlationid", "causationid", "traceparent")
_HEADER_PREFIX = "ce_"
MAX_PAYLOAD_BYTES = 1_000_000


class EnvelopeError(ValueError):
    """A message that is not a readable Pana event; it goes to the dead-letter topic."""


def new_event_id() -> str:
    return str(uuid.uuid4())


class Envelope(BaseModel):
    """One event: CloudEvents attributes plus the JSON payload in `data`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(default_factory=new_event_id, min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=200, examples=["/pana/registration"])
    type: str = Field(min_length=1, max_length=200, examples=["registration.referral.registered.v1"])
    specversion: str = SPEC_VERSION
    time: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    subject: str = Field(min_length=1, max_length=200, description="Id of the person or case the event is about; also the Kafka key.")
    datacontenttype: str = CONTENT_TYPE
    correlationid: str | None = Field(default=None, max_length=200)
    causationid: str | None = Field(default=None, max_length=200)
    traceparent: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)

    def attributes(self) -> dict[str, str]:
        attrs = {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "specversion": self.specversion,
            "time": self.time.isoformat(),
            "subject": self.subject,
            "datacontenttype": self.datacontenttype,
        }
        for name in EXTENSIONS:
            value = getattr(self, name)
            if value:
                attrs[name] = value
        return attrs


#: The Kafka header `datacontenttype` maps to in binary mode (CloudEvents Kafka protocol binding, 3.2.1).
CONTENT_TYPE_HEADER = "content-type"


def kafka_headers(attributes: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The Kafka headers of a binary-mode record: `ce_<name>` per attribute, `content-type` for datacontenttype."""
    headers = [(_HEADER_PREFIX + k, str(v).encode()) for k, v in attributes.items() if k != "datacontenttype"]
    headers.append((CONTENT_TYPE_HEADER, str(attributes.get("datacontenttype") or CONTENT_TYPE).encode()))
    return headers


def to_kafka(envelope: Envelope) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    """(key, headers, value) for a Kafka record in CloudEvents binary mode."""
    headers = kafka_headers(envelope.attributes())
    value = json.dumps(envelope.data, separators=(",", ":"), default=str).encode()
    return envelope.subject.encode(), headers, value


def from_kafka(headers: list[tuple[str, bytes]] | tuple, value: bytes | None) -> Envelope:
    """Read a binary-mode record; raise EnvelopeError with the reason when it is not one."""
    attrs: dict[str, Any] = {}
    content_type: str | None = None
    for name, raw in headers or ():
        if name.lower() == CONTENT_TYPE_HEADER and raw is not None:
            try:
                content_type = raw.decode()
            except UnicodeDecodeError as exc:
                raise EnvelopeError(f"header {name} is not UTF-8") from exc
        elif name.startswith(_HEADER_PREFIX):
            try:
                attrs[name[len(_HEADER_PREFIX):]] = raw.decode() if raw is not None else None
            except UnicodeDecodeError as exc:
                raise EnvelopeError(f"header {name} is not UTF-8") from exc
    if content_type and not attrs.get("datacontenttype"):  # an older record's ce_datacontenttype is read as before
        attrs["datacontenttype"] = content_type
    missing = [a for a in ("id", "source", "type", "specversion", "subject") if not attrs.get(a)]
    if missing:
        raise EnvelopeError(f"missing CloudEvents headers: {', '.join('ce_' + m for m in missing)}")
    if attrs["specversion"] != SPEC_VERSION:
        raise EnvelopeError(f"unsupported specversion {attrs['specversion']!r}")
    if value is None:
        raise EnvelopeError("empty payload")
    if len(value) > MAX_PAYLOAD_BYTES:
        raise EnvelopeError(f"payload of {len(value)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"payload is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EnvelopeError("payload must be a JSON object")
    try:
        return Envelope(**attrs, data=data)
    except ValidationError as exc:
        raise EnvelopeError(f"invalid CloudEvents attributes: {exc.errors(include_url=False)}") from exc
