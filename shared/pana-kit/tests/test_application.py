"""The command template and keyset paging, on a real (SQLite) database and the kit's real unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update
from sqlmodel import Field

from pana_events.events.rsd import InterviewScheduled
from pana_kit.application import ANY_VERSION, Audit, check_version, etag_of, run_command, run_creation
from pana_kit.db import Database
from pana_kit.documents import from_document, not_stored, to_document
from pana_kit.domain import Aggregate, DomainEvent, NotFound, RuleViolation, StaleVersion, VersionRequired
from pana_kit.outbox import UnitOfWork
from pana_kit.paging import InvalidCursor, Key, Keyset, by_creation, decode_cursor
from pana_kit.tables import KIT_METADATA, AuditEntry, OutboxMessage, table_base

from sqlalchemy import JSON, Column

Base = table_base("kit-test")


class CounterRow(Base, table=True):
    __tablename__ = "counters"
    id: str = Field(primary_key=True)
    created_at: datetime
    version: int
    document: dict = Field(sa_column=Column(JSON, nullable=False))


@dataclass(frozen=True)
class Ticked(DomainEvent):
    counter_id: str
    value: int


@dataclass
class Counter(Aggregate):
    id: str = ""
    value: int = 0
    limit: int = not_stored(default=3)

    def tick(self) -> int:
        if self.value >= self.limit:
            raise RuleViolation("counter_limit", "the counter is full")
        self.value += 1
        self.record(Ticked(self.id, self.value))
        return self.value


class Counters:
    def __init__(self, session):
        self.session = session

    async def load(self, counter_id: str):
        row = await self.session.get(CounterRow, counter_id)
        if row is None:
            raise NotFound(f"no counter {counter_id}")
        return from_document(Counter, row.document), row.version

    async def save(self, counter: Counter, expected_version: int) -> int:
        result = await self.session.execute(update(CounterRow).where(CounterRow.id == counter.id, CounterRow.version == expected_version)
                                            .values(version=expected_version + 1, document=to_document(counter)))
        if result.rowcount != 1:
            raise StaleVersion("the counter changed")
        return expected_version + 1

    async def add(self, counter: Counter) -> int:
        self.session.add(CounterRow(id=counter.id, created_at=datetime.now(timezone.utc), version=1, document=to_document(counter)))
        return 1


def published(counter: Counter, recorded: list[DomainEvent]):
    for event in recorded:
        match event:
            case Ticked():
                yield InterviewScheduled(application_id=event.counter_id, person_id="p", interview_id=str(event.value),
                                         scheduled_for=datetime(2026, 1, 1, tzinfo=timezone.utc)), event.counter_id


@pytest.fixture
async def db(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.run_sync(KIT_METADATA.create_all)
    yield database
    await database.dispose()


async def count(db, table) -> int:
    async with db.session() as session:
        return len(list((await session.execute(select(table))).scalars()))


async def create(db, counter_id="c1") -> None:
    counter = Counter(id=counter_id)
    counter.record(Ticked(counter_id, 0))
    async with UnitOfWork(db, "/test") as uow:
        await run_creation(uow, Counters(uow.session), counter, counter_id, publish=published)


async def test_a_command_saves_publishes_and_audits_in_one_transaction(db):
    await create(db)
    async with UnitOfWork(db, "/test") as uow:
        done = await run_command(uow, Counters(uow.session), "c1", Counter.tick, if_match=etag_of(1, "c1"),
                                 publish=published, audit=Audit(None, "tick", "counter/c1"))
    assert (done.version, done.result, done.etag) == (2, 1, etag_of(2, "c1"))
    assert [e.type for e in done.emitted] == ["rsd.interview.scheduled.v1"]
    assert await count(db, OutboxMessage) == 2 and await count(db, AuditEntry) == 1
    async with db.session() as session:
        assert (await Counters(session).load("c1"))[0].value == 1


@pytest.mark.parametrize("if_match, refused", [(None, VersionRequired), ('"stale"', StaleVersion)])
async def test_a_command_without_the_current_version_changes_nothing(db, if_match, refused):
    await create(db)
    with pytest.raises(refused):
        async with UnitOfWork(db, "/test") as uow:
            await run_command(uow, Counters(uow.session), "c1", Counter.tick, if_match=if_match, publish=published,
                              audit=Audit(None, "tick", "counter/c1"))
    assert await count(db, OutboxMessage) == 1 and await count(db, AuditEntry) == 0


async def test_a_refused_step_rolls_back_state_events_and_audit(db):
    await create(db)
    for _ in range(3):
        async with UnitOfWork(db, "/test") as uow:
            await run_command(uow, Counters(uow.session), "c1", Counter.tick, if_match=ANY_VERSION, publish=published)
    with pytest.raises(RuleViolation):
        async with UnitOfWork(db, "/test") as uow:
            await run_command(uow, Counters(uow.session), "c1", Counter.tick, if_match=ANY_VERSION, publish=published,
                              audit=Audit(None, "tick", "counter/c1"))
    assert await count(db, OutboxMessage) == 4 and await count(db, AuditEntry) == 0


async def test_a_concurrent_write_is_a_stale_version_even_for_system_commands(db):
    await create(db)

    class Interleaved(Counters):
        async def load(self, counter_id):
            loaded = await super().load(counter_id)
            await self.session.execute(update(CounterRow).values(version=CounterRow.version + 1))  # someone else wrote
            return loaded

    with pytest.raises(StaleVersion):
        async with UnitOfWork(db, "/test") as uow:
            await run_command(uow, Interleaved(uow.session), "c1", Counter.tick, if_match=ANY_VERSION, publish=published)


async def test_an_unknown_aggregate_is_not_found(db):
    with pytest.raises(NotFound):
        async with UnitOfWork(db, "/test") as uow:
            await run_command(uow, Counters(uow.session), "nope", Counter.tick, if_match=ANY_VERSION, publish=published)


def test_if_match_accepts_any_listed_or_weak_or_star():
    current = etag_of(3, "x")
    for header in (current, f'"a", {current}', f"W/{current}", "*"):
        check_version(header, current)


def test_documents_leave_out_what_is_not_stored():
    counter = Counter(id="c", value=2, limit=9)
    assert to_document(counter) == {"id": "c", "value": 2}
    assert from_document(Counter, {"id": "c", "value": 2}, limit=5) == Counter(id="c", value=2, limit=5)


async def test_keyset_pages_cover_every_row_once_in_order(db):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    async with db.transaction() as session:
        for i in range(23):  # ties on created_at are broken by id
            session.add(CounterRow(id=f"c{i:02}", created_at=start + timedelta(minutes=i // 3), version=1, document={}))
    keyset = by_creation(CounterRow)
    seen, cursor = [], None
    while True:
        async with db.session() as session:
            page = await keyset.page(session, select(CounterRow), cursor=cursor, limit=5)
        seen += [row.id for row in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"c{i:02}" for i in range(23)]


@pytest.mark.parametrize("cursor", ["not-base64!", "WzFd", "eyJjcmVhdGVkX2F0IjoxfQ"])
async def test_a_cursor_we_did_not_issue_is_refused(db, cursor):
    with pytest.raises(InvalidCursor):
        async with db.session() as session:
            await Keyset(Key("created_at", CounterRow.created_at), Key("id", CounterRow.id)).page(
                session, select(CounterRow), cursor=cursor, limit=5)
    assert decode_cursor(None) is None
