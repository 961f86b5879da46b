"""Dead letters an operator can see and replay: `pana dlq list|show|replay`.

The consumer (pana_kit.consumer) writes each record it gives up on twice: to its group's dead-letter topic (as
before, for whoever reads the broker) and to the `dead_letters` table of its own database (`record`), with the
reason, where it came from (topic, partition, offset) and the record itself, its payload sealed with the
service's keyring (the event's personal data stays encrypted at rest, bound to this row's place).

- **list** pages the rows (newest first) by status, topic, type, time; no keyring needed.
- **show** gives one row with its payload *redacted* (`redact`: every value but ids, types and times replaced),
  or, with `--reveal`, as it is — only with a stated purpose, and an audit entry records who read it and why.
- **replay** marks rows `replay`; the running service's consumer (`replay_job`, every
  `dead_letter_replay_interval_s`) delivers each again through its usual path: the envelope check, the topic
  check, the contract's validation, the handler in a unit of work with the inbox record. An event the inbox
  already has is a `duplicate` and changes nothing, so replaying twice is harmless. Settled rows become
  `replayed` (outcome handled, duplicate or skipped); one that fails again goes back to `dead` with its new
  reason. No broker is needed for any of it.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import func, select, update

from .crypto import KeyringError, field_context, is_token
from .db import Database
from .tables import DeadLetter

log = logging.getLogger("pana.dead_letters")

STATUSES = ("dead", "replay", "replayed")
# Envelope attributes and data fields shown as they are by `show` without --reveal: ids, types, times, codes.
_PLAIN_ATTRIBUTES = {"id", "type", "source", "specversion", "time", "datacontenttype", "dataschema", "correlationid",
                     "causationid", "traceparent", "subject"}
_REDACTED = "[redacted]"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def payload_context(service: str, group: str, topic: str, partition: int, offset: int) -> str:
    """The sealed payload's place: the service, and the record's group/topic/partition/offset (ids only)."""
    place = f"{group}/{topic}/{partition}/{offset}".replace(":", "_")
    return field_context(service, "dead_letter", place, "payload")


def _encode_headers(headers: Iterable[tuple[str, bytes]] | None) -> list[list[str]]:
    return [[name, base64.b64encode(value or b"").decode()] for name, value in (headers or ())]


def decode_headers(stored: list[Any]) -> list[tuple[str, bytes]]:
    return [(name, base64.b64decode(value)) for name, value in stored or ()]


def _keyring(db: Database):
    from .crypto import keyring_of

    try:
        return keyring_of(db.engine)
    except KeyringError:
        return None


async def record(db: Database, *, service: str, group: str, record, reason: str, envelope=None) -> int:
    """Keep a dead-lettered Kafka `record` in the table (once: a redelivered record finds its row). Its id."""
    async with db.transaction() as session:
        found = (await session.execute(select(DeadLetter.id).where(
            DeadLetter.consumer_group == group, DeadLetter.topic == record.topic,
            DeadLetter.partition == record.partition, DeadLetter.offset == record.offset))).scalar_one_or_none()
        if found is not None:
            return found
        value = (record.value or b"").decode("utf-8", errors="replace")
        keyring = _keyring(db)
        if keyring is not None:
            value = keyring.encrypt(value, context=payload_context(service, group, record.topic, record.partition,
                                                                   record.offset))
        row = DeadLetter(consumer_group=group, topic=record.topic, partition=record.partition, offset=record.offset,
                         event_id=(envelope.id[:200] if envelope else None),
                         event_type=(envelope.type[:200] if envelope else None), reason=reason[:4000],
                         key=record.key.decode("utf-8", errors="replace") if record.key else None,
                         headers=_encode_headers(record.headers), payload=value, failed_at=_utcnow())
        session.add(row)
        await session.flush()
        return row.id


def open_payload(row: DeadLetter, keyring, service: str) -> str:
    """The record's value as it arrived (decrypted when sealed)."""
    if not is_token(row.payload):
        return row.payload
    if keyring is None:
        raise KeyringError("the payload is sealed: the service's keyring is needed to read it")
    return keyring.decrypt(row.payload, context=payload_context(service, row.consumer_group, row.topic, row.partition,
                                                                row.offset))


def _redact_value(name: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _redact_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(name, v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    lowered = name.lower()
    if lowered == "id" or lowered.endswith("_id") or lowered.endswith("_ids") or lowered in ("type", "status",
                                                                                             "version", "occurred_at"):
        return value
    return _REDACTED


def redact(value: str, headers: list[tuple[str, bytes]]) -> dict[str, Any]:
    """What `show` prints without --reveal: the envelope's attributes (from the headers), and the data with every
    value replaced but ids, types and statuses, so an operator sees the shape and the ids, never a name or a date
    of birth. A value that is not JSON is described by its length only."""
    attributes = {}
    for name, raw in headers:
        if name.startswith("ce_"):
            attr = name[3:]
            attributes[attr] = raw.decode("utf-8", errors="replace") if attr in _PLAIN_ATTRIBUTES else _REDACTED
    try:
        data = json.loads(value)
    except ValueError:
        return {"attributes": attributes, "data": f"[{len(value)} characters, not JSON: redacted]"}
    return {"attributes": attributes, "data": _redact_value("data", data)}


# -- reading ------------------------------------------------------------------------------------------------------

@dataclass
class Filter:
    """Which dead letters: of a group, status, topic, event type, failed in [since, until), reason containing."""

    group: str | None = None
    status: str | None = None
    topic: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    reason_contains: str | None = None
    ids: list[int] = field(default_factory=list)

    def apply(self, stmt):
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        for column, value in ((DeadLetter.consumer_group, self.group), (DeadLetter.status, self.status),
                              (DeadLetter.topic, self.topic), (DeadLetter.event_type, self.event_type)):
            if value is not None:
                stmt = stmt.where(column == value)
        if self.since is not None:
            stmt = stmt.where(DeadLetter.failed_at >= self.since)
        if self.until is not None:
            stmt = stmt.where(DeadLetter.failed_at < self.until)
        if self.reason_contains:
            stmt = stmt.where(DeadLetter.reason.contains(self.reason_contains, autoescape=True))
        if self.ids:
            stmt = stmt.where(DeadLetter.id.in_(self.ids))
        return stmt


async def page(db: Database, flt: Filter, *, after: int | None = None, limit: int = 50) -> tuple[list[DeadLetter], int | None]:
    """Dead letters newest first, `limit` at a time; (rows, the id to pass as `after` for the next page or None)."""
    if not 1 <= limit <= 1000:
        raise ValueError("limit must be between 1 and 1000")
    stmt = flt.apply(select(DeadLetter))
    if after is not None:
        stmt = stmt.where(DeadLetter.id < after)
    async with db.session() as session:
        rows = list((await session.execute(stmt.order_by(DeadLetter.id.desc()).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


async def count(db: Database, flt: Filter) -> int:
    async with db.session() as session:
        return (await session.execute(flt.apply(select(func.count()).select_from(DeadLetter)))).scalar_one()


async def get(db: Database, dead_letter_id: int) -> DeadLetter | None:
    async with db.session() as session:
        return await session.get(DeadLetter, dead_letter_id)


async def request_replay(db: Database, flt: Filter) -> int:
    """Mark the waiting (`dead`) rows that match for replay by the service's consumer; how many."""
    flt = Filter(**{**flt.__dict__, "status": "dead"})
    stmt = flt.apply(update(DeadLetter)).values(status="replay", replay_requested_at=_utcnow())
    async with db.transaction() as session:
        result = await session.execute(stmt.execution_options(synchronize_session=False))
    return result.rowcount or 0


# -- replay, in the service ------------------------------------------------------------------------------------

@dataclass
class ReplayRecord:
    """A dead letter presented to the consumer as the record it was (`dead_letter_id` marks it as a replay)."""

    dead_letter_id: int
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


async def replay_pass(consumer, *, batch: int = 100) -> int:
    """Deliver every row of the consumer's group marked `replay` through `consumer.handle_record`; how many settled
    (handled, duplicate or skipped). A row that fails again is set back to `dead` by the consumer."""
    db = consumer.db
    service = consumer.settings.service_name
    keyring = _keyring(db)
    settled = 0
    last = 0
    while True:
        async with db.session() as session:
            rows = list((await session.execute(
                select(DeadLetter).where(DeadLetter.consumer_group == consumer.group, DeadLetter.status == "replay",
                                         DeadLetter.id > last).order_by(DeadLetter.id).limit(batch))).scalars())
        if not rows:
            return settled
        for row in rows:
            last = row.id
            try:
                value = open_payload(row, keyring, service)
            except KeyringError as exc:
                await mark_failed(db, row.id, f"replay: payload unreadable ({exc})")
                continue
            rec = ReplayRecord(row.id, row.topic, row.partition, row.offset, row.key.encode() if row.key else None,
                               value.encode(), decode_headers(row.headers))
            outcome = await consumer.handle_record(rec)
            if outcome.name != "dead_lettered":
                await mark_replayed(db, row.id, outcome.name)
                settled += 1


async def mark_replayed(db: Database, dead_letter_id: int, outcome: str) -> None:
    async with db.transaction() as session:
        await session.execute(update(DeadLetter).where(DeadLetter.id == dead_letter_id).values(
            status="replayed", outcome=outcome, replayed_at=_utcnow(), replays=DeadLetter.replays + 1))


async def mark_failed(db: Database, dead_letter_id: int, reason: str) -> None:
    async with db.transaction() as session:
        await session.execute(update(DeadLetter).where(DeadLetter.id == dead_letter_id).values(
            status="dead", reason=reason[:4000], replays=DeadLetter.replays + 1, failed_at=_utcnow()))


def replay_job(name: str = "dead-letter-replay"):
    """The periodic pass each consuming service runs (`create_app` adds it beside the consumer)."""
    from .jobs import periodic

    async def job(app) -> None:
        consumer = app.state.consumer

        async def run_pass(_app) -> int:
            return await replay_pass(consumer)

        await periodic(name, run_pass, interval_s=app.state.settings.dead_letter_replay_interval_s,
                       log=log, done="replayed %d dead letters")(app)

    job.__name__ = job.__qualname__ = name
    return job
