"""Belt and braces around the outbox and the inbox: retention, replay by range, reconciliation.

- **Published.** The relay advances one position (`outbox_relay`): a row with `seq` at or below it is
  published, unless it is listed in `outbox_replay` (`published_clause`).
- **Retention.** A published row is kept for `outbox_retention_days` after its creation and then
  purged (`purge_published`, run by every service's periodic job `retention`, pana_kit.retention).
- **Replay.** `replay` lists a range of published rows in `outbox_replay`, so the relay (of the running
  service, or at its next start) re-publishes them in their original order with their original event
  ids; consumers' inboxes absorb what they already have.
- **What a consumer received.** Every event of a subscribed topic is recorded in the consumer's inbox
  (outcome `handled`, or `skipped` for a type it does not act on); `inbox_window` pages it by time.
- **Reconciliation.** `reconcile` compares, for each topic of the registry and each consumer that
  subscribes to it, the producer's published event ids in a window with the consumer's inbox, and can
  re-publish exactly the missing ones.

Everything here works on the services' databases directly: each service owns its database and no
service reads another's; the operator's `pana` command (which holds every database's URL) is the one
place that looks across them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import and_, delete, exists, func, not_, or_, select, text, update

from pana_events.topics import TOPICS

from .db import Database
from .paging import Key, Keyset, Page
from .tables import InboxMessage, OutboxMessage, OutboxRelayPosition, OutboxReplay

_CHUNK = 500  # ids per IN (...) query


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """A naive time is taken as UTC; an aware one is converted (the databases store UTC)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _chunks(items: list[str], size: int = _CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- what is published --------------------------------------------------------------------------

_POSITION = (select(func.coalesce(func.max(OutboxRelayPosition.position), 0))
             .where(OutboxRelayPosition.name == "outbox").scalar_subquery())
_REPLAYING = exists().where(OutboxReplay.seq == OutboxMessage.seq)


def published_clause():
    """Rows the relay has published (at or below its position) and that are not waiting for a replay."""
    return and_(OutboxMessage.seq <= _POSITION, not_(_REPLAYING))


def unpublished_clause():
    return or_(OutboxMessage.seq > _POSITION, _REPLAYING)


# -- retention -----------------------------------------------------------------------------------

async def purge_published(db: Database, *, retention: timedelta, now: datetime | None = None,
                          batch: int = 1000) -> int:
    """Delete published outbox rows created before `now - retention` (unpublished rows are never touched).

    The newest row is always kept: on SQLite a new row's seq is the highest one plus one, and must not
    start again below the relay's position. Deletes in batches of `batch` rows so a long backlog does not hold one long transaction; safe on
    several instances at once (a row deleted twice is simply not there the second time).
    """
    cutoff = as_utc(now or utcnow()) - retention
    total = 0
    while True:
        async with db.transaction() as session:
            seqs = (await session.execute(
                select(OutboxMessage.seq).where(published_clause(), OutboxMessage.created_at < cutoff,
                                                OutboxMessage.seq < select(func.max(OutboxMessage.seq)).scalar_subquery())
                .order_by(OutboxMessage.seq).limit(batch))).scalars().all()
            if not seqs:
                return total
            await session.execute(delete(OutboxMessage).where(OutboxMessage.seq.in_(seqs)))
        total += len(seqs)


# -- replay --------------------------------------------------------------------------------------

def _window(stmt, column, since: datetime | None, until: datetime | None):
    if since is not None:
        stmt = stmt.where(column >= as_utc(since))
    if until is not None:
        stmt = stmt.where(column < as_utc(until))
    return stmt


async def replay(db: Database, *, since: datetime | None = None, until: datetime | None = None,
                 topic: str | None = None, event_ids: Iterable[str] | None = None) -> int:
    """List published rows created in [since, until) (of `topic`; or exactly `event_ids`) for publishing again.

    The relay then sends them again, oldest first, with the same event ids and payloads: a consumer that
    already has an event records a duplicate and changes nothing. Rows not yet published are left as they
    are (the relay sends them anyway). Returns how many rows were marked.
    """
    if since is None and event_ids is None:
        raise ValueError("replay needs a start time (or the event ids)")
    ids = None if event_ids is None else sorted(set(event_ids))
    total = 0
    async with db.transaction() as session:
        for chunk in ([None] if ids is None else list(_chunks(ids))):
            stmt = select(OutboxMessage.seq).where(published_clause())
            stmt = _window(stmt, OutboxMessage.created_at, since, until)
            if topic:
                stmt = stmt.where(OutboxMessage.topic == topic)
            if chunk is not None:
                stmt = stmt.where(OutboxMessage.event_id.in_(chunk))
            seqs = (await session.execute(stmt)).scalars().all()
            for part in _chunks(list(seqs)):
                await session.execute(OutboxReplay.__table__.insert(), [{"seq": seq} for seq in part])
                await session.execute(update(OutboxMessage).where(OutboxMessage.seq.in_(part))
                                      .values(attempts=OutboxMessage.attempts + 1).execution_options(synchronize_session=False))
            total += len(seqs)
        if total and not db.is_sqlite:
            await session.execute(text("SELECT pg_notify('pana_outbox', 'replay')"))  # wakes the leading relay
    return total


# -- what a consumer received --------------------------------------------------------------------

INBOX_ORDER = Keyset(Key("handled_at", InboxMessage.handled_at), Key("event_id", InboxMessage.event_id))


async def inbox_window(db: Database, group: str, *, since: datetime | None = None, until: datetime | None = None,
                       topic: str | None = None, cursor: str | None = None, limit: int = 100) -> Page[InboxMessage]:
    """The events consumer group `group` settled in [since, until), oldest first, one page at a time."""
    if not 1 <= limit <= 1000:
        raise ValueError("limit must be between 1 and 1000")
    stmt = _window(select(InboxMessage).where(InboxMessage.consumer_group == group), InboxMessage.handled_at, since, until)
    if topic:
        stmt = stmt.where(InboxMessage.topic == topic)
    async with db.session() as session:
        return await INBOX_ORDER.page(session, stmt, cursor=cursor, limit=limit)


# -- reconciliation ------------------------------------------------------------------------------

@dataclass
class TopicReport:
    """One (producer, topic, consumer): what the producer published in the window and the consumer lacks."""

    producer: str
    topic: str
    consumer: str
    published: int  # published in the window and settled long enough ago to be expected
    missing: list[str] = field(default_factory=list)  # event ids, oldest first
    in_flight: int = 0  # not yet published, or published within the settle time: not counted as missing


@dataclass
class Reconciliation:
    since: datetime | None
    until: datetime
    reports: list[TopicReport]
    republished: int = 0
    skipped: list[str] = field(default_factory=list)  # services whose database could not be read, and why

    @property
    def missing(self) -> int:
        return sum(len(r.missing) for r in self.reports)


async def published_ids(db: Database, topic: str, *, since: datetime | None, until: datetime,
                        settled_before: datetime) -> tuple[list[str], int]:
    """(ids published in the window and created before `settled_before`, oldest first; how many are still in flight).

    An event created after `settled_before`, or not published yet (or waiting for its replay), is in flight."""
    async with db.session() as session:
        base = _window(select(OutboxMessage.event_id, OutboxMessage.created_at, published_clause())
                       .where(OutboxMessage.topic == topic),
                       OutboxMessage.created_at, since, until).order_by(OutboxMessage.seq)
        rows = (await session.execute(base)).all()
    cutoff = as_utc(settled_before)
    settled = [event_id for event_id, at, published in rows if published and as_utc(at) <= cutoff]
    return settled, len(rows) - len(settled)


async def received_ids(db: Database, group: str, event_ids: list[str]) -> set[str]:
    """Which of `event_ids` consumer group `group` has in its inbox (handled or skipped)."""
    found: set[str] = set()
    async with db.session() as session:
        for chunk in _chunks(event_ids):
            found.update((await session.execute(
                select(InboxMessage.event_id).where(InboxMessage.consumer_group == group,
                                                    InboxMessage.event_id.in_(chunk)))).scalars())
    return found


async def reconcile(databases: dict[str, Database], *, since: datetime | None, until: datetime | None = None,
                    settle: timedelta = timedelta(minutes=1), repair: bool = False,
                    groups: dict[str, str] | None = None, now: datetime | None = None) -> Reconciliation:
    """Compare every producer's outbox with every subscribed consumer's inbox over [since, until).

    `databases` maps service name (as in the topic registry) to its database; a topic whose producer, or
    a consumer whose database, is not given is left out. `groups` maps a service to its consumer group
    when not its name. Events published less than `settle` ago are in flight, not missing. With `repair`
    the missing events (each once, whichever consumers lack it) are re-published by their producer.
    """
    from .metrics import RECONCILE_MISSING

    now = as_utc(now or utcnow())
    until = as_utc(until) if until is not None else now
    groups = groups or {}
    result = Reconciliation(since=as_utc(since) if since else None, until=until, reports=[])
    to_republish: dict[str, set[str]] = {}
    for topic in TOPICS:
        producer_db = databases.get(topic.producer)
        if producer_db is None:
            continue
        ids, in_flight = await published_ids(producer_db, topic.name, since=since, until=until, settled_before=now - settle)
        for consumer in topic.consumers:
            consumer_db = databases.get(consumer)
            if consumer_db is None:
                continue
            have = await received_ids(consumer_db, groups.get(consumer, consumer), ids)
            report = TopicReport(topic.producer, topic.name, consumer, published=len(ids),
                                 missing=[i for i in ids if i not in have], in_flight=in_flight)
            result.reports.append(report)
            RECONCILE_MISSING.labels(topic.producer, topic.name, consumer).set(len(report.missing))
            if report.missing:
                to_republish.setdefault(topic.producer, set()).update(report.missing)
    if repair:
        for producer, ids in to_republish.items():
            result.republished += await replay(databases[producer], event_ids=ids)
    return result


async def count_unpublished(db: Database) -> int:
    async with db.session() as session:
        return (await session.execute(select(func.count()).select_from(OutboxMessage)
                                      .where(unpublished_clause()))).scalar_one()


@dataclass
class OutboxStatus:
    """A service's outbox at a glance (`pana outbox status`): unsent rows, the oldest one's creation, the last send."""

    backlog: int
    oldest_unsent: datetime | None
    last_sent: datetime | None
    sent_kept: int  # published rows still kept (retention)

    def oldest_age(self, now: datetime | None = None) -> timedelta | None:
        return None if self.oldest_unsent is None else as_utc(now or utcnow()) - as_utc(self.oldest_unsent)


async def outbox_status(db: Database) -> OutboxStatus:
    async with db.session() as session:
        backlog, oldest = (await session.execute(select(func.count(), func.min(OutboxMessage.created_at))
                                                 .where(unpublished_clause()))).one()
        kept = (await session.execute(select(func.count()).where(published_clause()))).scalar_one()
        # The relay advances one position row (no mark per row): its last move is the last send.
        last = (await session.execute(select(OutboxRelayPosition.updated_at)
                                      .where(OutboxRelayPosition.name == "outbox"))).scalar_one_or_none()
    return OutboxStatus(backlog=backlog, oldest_unsent=oldest, last_sent=last, sent_kept=kept)
