"""Tables every service's database has: outbox, inbox, idempotency keys, audit log.

They live in the service's own database so that a state change, the events it
causes, the record of a handled event and the audit entry commit together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Index, Integer, String, Text, false
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a log.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    # Published rows are kept for the retention period (replay by range, reconciliation), then purged.
    # Whether a row is published is told by the relay's position (OutboxRelayPosition), not by
    # `published_at`, which only rows published before kit tables v4 carry.
    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "seq"), Index("ix_outbox_created", "created_at", "seq"))

    seq: Optional[int] = Field(default=None, sa_column=Column(BigIntPK, primary_key=True, autoincrement=True))
    event_id: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    topic: str = Field(sa_column=Column(String(200), nullable=False))
    key: str = Field(sa_column=Column(String(200), nullable=False))
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    attributes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    published_at: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))


class OutboxRelayPosition(SQLModel, table=True):
    """How far the outbox relay has got: every row with `seq <= position` is published (or was a sequence gap
    that can no longer fill), except rows marked for replay (`outbox_replay`). One row per relay (`name`).

    The relay advances this one row instead of marking every published row (pana_kit.outbox)."""

    __tablename__ = "outbox_relay"

    name: str = Field(sa_column=Column(String(100), primary_key=True))
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class OutboxReplay(SQLModel, table=True):
    """Published outbox rows marked to be published again (`pana outbox replay`, reconciliation's repair)."""

    __tablename__ = "outbox_replay"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class InboxMessage(SQLModel, table=True):
    """An event a consumer group has settled; its effect committed in the same transaction.

    `outcome` is `handled` (a handler ran) or `skipped` (a type this consumer does not act on), so the
    inbox answers, for a window, which events of its topics a consumer has received: reconciliation
    compares that with the producers' outboxes. `topic` is empty on rows written before it was recorded.
    """

    __tablename__ = "inbox"
    # ix_inbox_handled_at: retention deletes by age across groups (pana_kit.retention).
    __table_args__ = (Index("ix_inbox_handled", "consumer_group", "handled_at", "event_id"),
                      Index("ix_inbox_handled_at", "handled_at"))

    consumer_group: str = Field(sa_column=Column(String(200), primary_key=True))
    event_id: str = Field(sa_column=Column(String(200), primary_key=True))
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    handled_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    topic: Optional[str] = Field(default=None, sa_column=Column(String(200), nullable=True))
    outcome: str = Field(default="handled", sa_column=Column(String(20), nullable=False, server_default="handled"))


class IdempotencyRecord(SQLModel, table=True):
    """The answer given to a create request, replayed when the same caller sends the same key again.

    Keyed by the caller (`subject`), so one user's key never replays another's answer; purged after
    `idempotency_ttl_hours` (`created_at`)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_created", "created_at"),)

    subject: str = Field(sa_column=Column(String(200), primary_key=True))
    scope: str = Field(sa_column=Column(String(300), primary_key=True))
    key: str = Field(sa_column=Column(String(200), primary_key=True))
    request_hash: str = Field(sa_column=Column(String(64), nullable=False))
    status_code: int = Field(sa_column=Column(Integer, nullable=False))
    response_body: str = Field(sa_column=Column(Text, nullable=False))
    headers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AuditEntry(SQLModel, table=True):
    """Append-only; each row carries the hash of the one before and a keyed MAC, so tampering shows."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_resource", "resource"), Index("ix_audit_subject", "subject"))

    seq: Optional[int] = Field(default=None, sa_column=Column(BigIntPK, primary_key=True, autoincrement=True))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    client_id: Optional[str] = Field(default=None, sa_column=Column(String(200)))
    role: Optional[str] = Field(default=None, sa_column=Column(String(100)))
    action: str = Field(sa_column=Column(String(100), nullable=False))
    resource: str = Field(sa_column=Column(String(300), nullable=False))
    purpose: Optional[str] = Field(default=None, sa_column=Column(String(300)))
    outcome: str = Field(sa_column=Column(String(50), nullable=False))
    trace_id: Optional[str] = Field(default=None, sa_column=Column(String(64)))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    # HMAC-SHA256(audit key, "seq:hash"): the key is not in the database (pana_kit.audit). NULL before v3.
    mac: Optional[str] = Field(default=None, sa_column=Column(String(64)))


class DeadLetter(SQLModel, table=True):
    """A record the consumer gave up on (pana_kit.dead_letters), kept beside its copy on the dead-letter topic so an
    operator can list, read (redacted) and replay it with `pana dlq` without a broker.

    `payload` is the record's value, sealed with the service's keyring when one is attached (it carries the
    event's personal data); `headers` the record's headers (base64 values). `status`: `dead` (waiting), `replay`
    (the operator asked for it: the service's consumer delivers it again through its usual path, inbox and all),
    `replayed` (settled: `outcome` says handled, duplicate or skipped). A replay that fails again goes back to
    `dead` with the new reason and `replays` counted."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ux_dead_letters_record", "consumer_group", "topic", "partition", "offset", unique=True),
                      Index("ix_dead_letters_status", "consumer_group", "status", "id"))

    id: Optional[int] = Field(default=None, sa_column=Column(BigIntPK, primary_key=True, autoincrement=True))
    consumer_group: str = Field(sa_column=Column(String(200), nullable=False))
    topic: str = Field(sa_column=Column(String(200), nullable=False))
    partition: int = Field(sa_column=Column(Integer, nullable=False))
    offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_id: Optional[str] = Field(default=None, sa_column=Column(String(200)))
    event_type: Optional[str] = Field(default=None, sa_column=Column(String(200)))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    key: Optional[str] = Field(default=None, sa_column=Column(Text))
    headers: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    failed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(default="dead", sa_column=Column(String(20), nullable=False, server_default="dead"))
    replays: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    replay_requested_at: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    replayed_at: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    outcome: Optional[str] = Field(default=None, sa_column=Column(String(20)))


class AuditIntent(SQLModel, table=True):
    """An audit entry committed with its command but not yet in the chain (pana_kit.audit.AuditChainer).

    Written without the chain's lock, so writers never queue behind each other; the chainer moves intents into
    `audit_log` in batches (contiguous seqs, hash chain, keyed MAC) and deletes them here in the same
    transaction. `mac` is a keyed MAC over the intent's content made by the writer (the key is not in the
    database): an intent forged in the database is not chained but kept here with `rejected` set."""

    __tablename__ = "audit_intents"

    id: Optional[int] = Field(default=None, sa_column=Column(BigIntPK, primary_key=True, autoincrement=True))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    client_id: Optional[str] = Field(default=None, sa_column=Column(String(200)))
    role: Optional[str] = Field(default=None, sa_column=Column(String(100)))
    action: str = Field(sa_column=Column(String(100), nullable=False))
    resource: str = Field(sa_column=Column(String(300), nullable=False))
    purpose: Optional[str] = Field(default=None, sa_column=Column(String(300)))
    outcome: str = Field(sa_column=Column(String(50), nullable=False))
    trace_id: Optional[str] = Field(default=None, sa_column=Column(String(64)))
    mac: Optional[str] = Field(default=None, sa_column=Column(String(64)))
    rejected: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))


class WebhookSubscription(SQLModel, table=True):
    """A system's subscription to some of this service's events (pana_kit.webhooks). The signing secret is
    sealed with the service's keyring (context `webhook/<service>/<id>`); `scopes` are the read scopes the
    subscriber held when it subscribed, checked again for every event."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_owner", "owner", "created_at", "id"),)

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    owner: str = Field(sa_column=Column(String(200), nullable=False))  # the OAuth client (client_id)
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    secret: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription: `pending` (due at `next_attempt_at`), `delivered` or `parked`. Per
    subscription they go out in `seq` order (the outbox's); the body is the outbox row's, read when sent."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_queue", "subscription_id", "status", "seq"),
                      Index("ix_webhook_deliveries_due", "status", "next_attempt_at"))

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    subscription_id: str = Field(sa_column=Column(String(36), nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_id: str = Field(sa_column=Column(String(64), nullable=False))
    event_type: str = Field(sa_column=Column(String(200), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    lease_until: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_attempt_at: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_status: Optional[int] = Field(default=None, sa_column=Column(Integer))
    last_error: Optional[str] = Field(default=None, sa_column=Column(String(300)))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    delivered_at: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class WebhookCursor(SQLModel, table=True):
    """How far the webhook fan-out has read the outbox (the last `seq` turned into deliveries)."""

    __tablename__ = "webhook_cursor"

    name: str = Field(sa_column=Column(String(50), primary_key=True))
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


KIT_TABLES = (OutboxMessage, OutboxRelayPosition, OutboxReplay, InboxMessage, IdempotencyRecord, AuditEntry, DeadLetter,
              AuditIntent, WebhookSubscription, WebhookDelivery, WebhookCursor)


def table_base(service: str) -> type[SQLModel]:
    """A base class for one service's tables, with that service's own metadata.

    Two services may both have a `persons` table; on SQLModel's one global metadata they
    could not be imported into one process (one pytest run of every service). The kit's
    tables above stay on the shared metadata; a service's migrations see both
    (`run_env([Base.metadata, KIT_METADATA])`).
    """
    return type(f"{service.title().replace('-', '')}Table", (SQLModel,), {"__module__": __name__}, registry=registry())


KIT_METADATA = SQLModel.metadata
