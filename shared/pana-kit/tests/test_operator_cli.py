"""The operator's `pana` commands, run as an operator runs them (a subprocess), on SQLite and PostgreSQL:
dlq list|show|replay, outbox status, keys reencrypt, migrations upgrade|current, retention prune.

The database is rsd's, at its migrations' head (its sealed documents, claim texts, and the kit's tables). Dead
letters are made by the kit's consumer itself (its own code, a stand-in only for the broker's producer), and
replayed by its replay pass, as the running service does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, type_coerce, JSON

from pana_events import Envelope
from pana_events.events.registration import PersonRegistered
from pana_dev.testing import DeadLetterProducer, Record
from pana_kit import crypto, dead_letters
from pana_kit.consumer import EventConsumer
from pana_kit.crypto import Keyring, attach_keyring
from pana_kit.db import Database
from pana_kit.domain import DomainError
from pana_kit.migrations import upgrade
from pana_kit.outbox import OutboxSignal
from pana_kit.retention import Policy, prune
from pana_kit.settings import ServiceSettings
from pana_kit.tables import AuditEntry, DeadLetter, IdempotencyRecord, InboxMessage, OutboxMessage, OutboxRelayPosition

MIGRATIONS = Path(__import__("rsd.app", fromlist=["MIGRATIONS"]).MIGRATIONS)
NOW = datetime.now(timezone.utc)


@pytest.fixture
def keyring_file(tmp_path) -> Path:
    path = tmp_path / "rsd-keyring.json"
    Keyring.generate_file(path, key_id="k1")
    return path


@pytest.fixture
async def db(url, keyring_file):
    upgrade(MIGRATIONS, url)
    database = Database(url)
    attach_keyring(database.engine, Keyring.from_file(keyring_file))
    yield database
    await database.dispose()


def pana(*args: str, keyring_file: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RSD_")}
    environment["RSD_STATE_DIR"] = str(Path(tempfile.gettempdir()))
    if keyring_file is not None:
        environment["RSD_KEYRING_FILE"] = str(keyring_file)
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "pana_kit.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=300)


async def cli(*args: str) -> subprocess.CompletedProcess:
    """The same command in this process (on a thread: the command runs its own event loop): for the refusals and
    the second and later calls, so the suite does not start a Python per assertion."""
    import asyncio
    import contextlib
    import io

    from pana_kit.cli import main

    def run():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
        return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())

    return await asyncio.to_thread(run)


# -- dead letters ------------------------------------------------------------------------------------------------

def person_registered(offset: int) -> Record:
    event = PersonRegistered(person_id=f"p{offset}", registration_number=f"R-{offset}", given_name="Aruzhan",
                             family_name="Sadykova", sex="female", registered_at="2026-11-30T09:00:00Z")
    envelope = Envelope(source="/pana/registration", type=event.event_type, subject=event.person_id,
                        data=event.model_dump(mode="json"))
    return Record.of("registration.events", envelope, offset=offset)


def rsd_consumer(db: Database, handled: list, *, refuse: dict) -> EventConsumer:
    async def on_person(event, envelope, uow):
        if refuse.get("on"):
            raise DomainError("the office is closed", rule="office-closed")
        handled.append(event.person_id)

    consumer = EventConsumer(db, ServiceSettings(service_name="rsd", dev_mode=True, otel_enabled=False),
                             OutboxSignal(), ["registration.events"], {PersonRegistered.event_type: on_person},
                             "/pana/rsd")
    consumer.producer = DeadLetterProducer()
    return consumer


async def test_dead_letters_are_listed_shown_redacted_revealed_with_an_audit_entry_and_replayed_through_the_inbox(
        db, url, keyring_file):
    handled: list = []
    refuse = {"on": True}
    consumer = rsd_consumer(db, handled, refuse=refuse)
    for offset in (1, 2, 3):
        assert (await consumer.handle_record(person_registered(offset))).name == "dead_lettered"
    # a redelivery of the same record (a crash before its offset was committed) adds no second row
    await consumer.handle_record(person_registered(1))
    async with db.session() as session:
        rows = list((await session.execute(select(DeadLetter).order_by(DeadLetter.id))).scalars())
    assert len(rows) == 3 and len(consumer.producer.sent) == 4  # the topic copy as before
    assert all(crypto.is_token(r.payload) and "Aruzhan" not in r.payload for r in rows)  # sealed at rest

    listed = pana("dlq", "list", "--service", "rsd", "--database-url", url, "--json", "--limit", "2")
    assert listed.returncode == 0, listed.stderr
    page = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [p["id"] for p in page] == [rows[2].id, rows[1].id]
    assert page[0]["reason"] == "refused by rule office-closed: the office is closed" and page[0]["status"] == "dead"
    assert f"next page: --after {rows[1].id}" in listed.stderr
    rest = await cli("dlq", "list", "--service", "rsd", "--database-url", url, "--after", str(rows[1].id))
    assert rest.returncode == 0 and f"registration.events[0]@1" in rest.stdout and "next page" not in rest.stderr

    shown = pana("dlq", "show", "--service", "rsd", "--database-url", url, str(rows[0].id), "--json",
                 keyring_file=keyring_file)
    assert shown.returncode == 0, shown.stderr
    redacted = json.loads(shown.stdout)
    assert "Aruzhan" not in shown.stdout and "Sadykova" not in shown.stdout
    assert redacted["payload_redacted"]["data"]["person_id"] == "p1"
    assert redacted["payload_redacted"]["data"]["given_name"] == "[redacted]"
    assert redacted["payload_redacted"]["attributes"]["type"] == PersonRegistered.event_type

    no_purpose = await cli("dlq", "show", "--service", "rsd", "--database-url", url, str(rows[0].id), "--reveal",
                           "--keyring-file", str(keyring_file))
    assert no_purpose.returncode == 2 and "--purpose" in no_purpose.stderr
    revealed = pana("dlq", "show", "--service", "rsd", "--database-url", url, str(rows[0].id), "--reveal",
                    "--purpose", "incident 42: why was it refused", "--operator", "ops-anna", keyring_file=keyring_file)
    assert revealed.returncode == 0, revealed.stderr
    assert json.loads(revealed.stdout)["payload"]["given_name"] == "Aruzhan"
    async with db.session() as session:
        entry = (await session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()))).scalars().first()
    assert (entry.subject, entry.action, entry.resource, entry.purpose) == (
        "ops-anna", "dead_letter.reveal", f"dead_letter/{rows[0].id}", "incident 42: why was it refused")

    # replay: one by id, then the rest by filter; the consumer delivers them through its usual path
    refuse["on"] = False
    one = pana("dlq", "replay", "--service", "rsd", "--database-url", url, "--id", str(rows[0].id))
    assert one.returncode == 0 and "1 dead letter(s) of rsd marked for replay" in one.stdout, one.stderr
    assert await dead_letters.replay_pass(consumer) == 1 and handled == ["p1"]
    dry = await cli("dlq", "replay", "--service", "rsd", "--database-url", url, "--all", "--reason-contains", "office",
               "--dry-run")
    assert dry.returncode == 0 and "2 waiting dead letter(s)" in dry.stdout
    rest = await cli("dlq", "replay", "--service", "rsd", "--database-url", url, "--all", "--topic", "registration.events")
    assert rest.returncode == 0 and "2 dead letter(s)" in rest.stdout
    assert await dead_letters.replay_pass(consumer) == 2 and sorted(handled) == ["p1", "p2", "p3"]
    async with db.session() as session:
        settled = list((await session.execute(select(DeadLetter.status, DeadLetter.outcome))).all())
        inbox = (await session.execute(select(func.count()).select_from(InboxMessage))).scalar_one()
    assert settled == [("replayed", "handled")] * 3 and inbox == 3

    # replaying a settled one again is refused; forced back, the inbox makes it a harmless duplicate
    again = await cli("dlq", "replay", "--service", "rsd", "--database-url", url, "--id", str(rows[0].id))
    assert again.returncode == 2 and "not waiting" in again.stderr
    await dead_letters.mark_failed(db, rows[0].id, "forced back for the test")
    assert (await dead_letters.request_replay(db, dead_letters.Filter(ids=[rows[0].id]))) == 1
    assert await dead_letters.replay_pass(consumer) == 1 and sorted(handled) == ["p1", "p2", "p3"]
    assert (await dead_letters.get(db, rows[0].id)).outcome == "duplicate"

    # a replay that fails again waits once more, with its new reason
    refuse["on"] = True
    await consumer.handle_record(person_registered(9))
    (ninth,) = (await dead_letters.page(db, dead_letters.Filter(status="dead")))[0]
    await dead_letters.request_replay(db, dead_letters.Filter(ids=[ninth.id]))
    assert await dead_letters.replay_pass(consumer) == 0
    row = await dead_letters.get(db, ninth.id)
    assert (row.status, row.replays) == ("dead", 1) and "office-closed" in row.reason

    missing = await cli("dlq", "show", "--service", "rsd", "--database-url", url, "999999")
    assert missing.returncode == 2 and "no dead letter 999999" in missing.stderr
    neither = await cli("dlq", "replay", "--service", "rsd", "--database-url", url)
    assert neither.returncode == 2 and "--id" in neither.stderr


# -- outbox status and retention ----------------------------------------------------------------------------------

def outbox_row(n: int, *, created: datetime) -> OutboxMessage:
    return OutboxMessage(event_id=f"e{n}", topic="rsd.events", key="k", event_type="rsd.x.v1", attributes={},
                         payload="{}", created_at=created)


async def seed_bookkeeping(db: Database) -> None:
    async with db.transaction() as session:
        sent = [outbox_row(1, created=NOW - timedelta(days=41)),  # past retention
                outbox_row(2, created=NOW - timedelta(days=2))]
        session.add_all(sent)
        await session.flush()
        # Published = at or below the relay's position (pana_kit.outbox), which last moved a day ago.
        await session.merge(OutboxRelayPosition(name="outbox", position=sent[-1].seq,
                                                updated_at=NOW - timedelta(days=1)))
        session.add_all([
            outbox_row(3, created=NOW - timedelta(days=45)),  # never sent: never pruned
            InboxMessage(consumer_group="rsd", event_id="old", event_type="t", handled_at=NOW - timedelta(days=31)),
            InboxMessage(consumer_group="rsd", event_id="new", event_type="t", handled_at=NOW - timedelta(days=1)),
            IdempotencyRecord(subject="u", scope="s", key="old-key-1", request_hash="h", status_code=201,
                              response_body="{}", headers={}, created_at=NOW - timedelta(hours=25)),
            IdempotencyRecord(subject="u", scope="s", key="new-key-1", request_hash="h", status_code=201,
                              response_body="{}", headers={}, created_at=NOW - timedelta(hours=23)),
        ])


async def test_outbox_status_shows_backlog_oldest_unsent_and_last_send(db, url):
    await seed_bookkeeping(db)
    status = pana("outbox", "status", "--service", "rsd", "--database-url", url, "--json")
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert (shown["service"], shown["backlog"], shown["sent_kept"], shown["dead_letters_waiting"]) == ("rsd", 1, 2, 0)
    # NOW is fixed when the module loads; a busy run may reach this test long after, so the bound follows it.
    since_now = (datetime.now(timezone.utc) - NOW).total_seconds()
    assert 45 * 86400 - 60 < shown["oldest_unsent_age_s"] < 45 * 86400 + since_now + 60
    assert datetime.fromisoformat(shown["last_sent"]) > NOW - timedelta(days=1, minutes=1)
    text = await cli("outbox", "status", "--service", "rsd", "--database-url", url)
    assert text.returncode == 0 and "rsd: backlog 1 unsent (oldest 45.0d old)" in text.stdout

    nowhere = await cli("outbox", "status", "--service", "rsd", "--database-url", "sqlite:////nonexistent/rsd.db")
    assert nowhere.returncode == 2 and "no database for rsd" in nowhere.stderr


async def test_retention_prunes_past_each_period_never_unsent_rows_nor_inside_the_idempotency_promise(db, url):
    await seed_bookkeeping(db)

    async def left():
        async with db.session() as session:
            return ({r for r in (await session.execute(select(OutboxMessage.event_id))).scalars()},
                    {r for r in (await session.execute(select(InboxMessage.event_id))).scalars()},
                    {r for r in (await session.execute(select(IdempotencyRecord.key))).scalars()})

    everything = await left()
    dry = pana("retention", "prune", "--service", "rsd", "--database-url", url, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    counted = json.loads(dry.stdout)
    assert (counted["outbox"], counted["inbox"], counted["idempotency"]) == (1, 1, 1) and counted["dry_run"]
    assert await left() == everything

    inside = await cli("retention", "prune", "--service", "rsd", "--database-url", url, "--idempotency-hours", "2")
    assert inside.returncode == 2 and "promised for 24 h" in inside.stderr
    assert await left() == everything

    done = pana("retention", "prune", "--service", "rsd", "--database-url", url)
    assert done.returncode == 0 and "rsd: pruned 1 sent outbox rows (> 30 d), 1 inbox rows (> 30 d), 1 idempotency" \
        in done.stdout, done.stderr
    assert await left() == ({"e2", "e3"}, {"new"}, {"new-key-1"})
    # a shorter outbox period still leaves the unsent row, whatever its age; the job's pass is the same prune
    assert (await prune(db, Policy(outbox_days=1, inbox_days=30, idempotency_hours=24))).outbox == 1
    assert (await left())[0] == {"e3"}


# -- keys reencrypt ------------------------------------------------------------------------------------------------

async def test_keys_reencrypt_moves_every_sealed_value_to_the_active_key_in_batches_and_again_changes_nothing(
        db, url, keyring_file):
    from rsd.store.repository import ClaimTexts
    from rsd.store.tables import ApplicantRow, ClaimTextRow

    keyring = Keyring.from_file(keyring_file)
    async with db.transaction() as session:
        for i in range(5):
            session.add(ApplicantRow(person_id=f"p{i}", document={"person_id": f"p{i}", "given_name": f"Name{i}",
                                                                  "family_name": "Sadykova"}, updated_at=NOW))
            ClaimTexts(session, keyring).write(f"app-{i}", "narrative", "m1", f"narrative {i}", by="officer")
    consumer = rsd_consumer(db, [], refuse={"on": True})
    await consumer.handle_record(person_registered(1))  # a dead letter: its payload is sealed too

    crypto.rotate_file(keyring_file, key_id="k2")
    dry = await cli("keys", "reencrypt", "--service", "rsd", "--database-url", url, "--dry-run",
                    "--keyring-file", str(keyring_file))
    assert dry.returncode == 0, dry.stderr
    assert "dry run: 11 row(s) of 11 use an older key" in dry.stdout

    run = pana("keys", "reencrypt", "--service", "rsd", "--database-url", url, "--batch", "2",
               keyring_file=keyring_file)
    assert run.returncode == 0, run.stderr
    assert "applicants.document: 4 scanned, 4 re-sealed" in run.stdout  # a progress line per batch
    assert "done: 11 row(s) re-sealed under k2" in run.stdout

    fresh = Keyring.from_file(keyring_file)
    async with db.session() as session:
        raw = list((await session.execute(select(type_coerce(ApplicantRow.document, JSON)))).scalars())
        texts = list((await session.execute(select(ClaimTextRow.key_id))).scalars())
        payload = (await session.execute(select(DeadLetter.payload))).scalar_one()
    assert all(doc["given_name"].startswith("v1.k2.") for doc in raw) and texts == ["k2"] * 5
    assert fresh.key_id_of(payload) == "k2"
    only_k2 = Keyring.from_file(keyring_file)
    only_k2._install("k2", {"k2": only_k2._keys["k2"]})  # k1 gone: every value still opens
    attach_keyring(db.engine, only_k2)
    async with db.session() as session:
        docs = list((await session.execute(select(ApplicantRow).order_by(ApplicantRow.person_id))).scalars())
        assert [d.document["given_name"] for d in docs] == [f"Name{i}" for i in range(5)]
        assert [t["text"] for t in await ClaimTexts(session, only_k2).read("app-3")] == ["narrative 3"]

    again = await cli("keys", "reencrypt", "--service", "rsd", "--database-url", url, "--keyring-file",
                      str(keyring_file))
    assert again.returncode == 0 and "done: 0 row(s) re-sealed" in again.stdout

    nokey = await cli("keys", "reencrypt", "--service", "rsd", "--database-url", url,
                 "--keyring-file", str(keyring_file.parent / "missing.json"))
    assert nokey.returncode == 2 and "cannot load rsd's keyring" in nokey.stderr


# -- migrations ---------------------------------------------------------------------------------------------------

def test_migrations_upgrade_and_current(url):
    from pana_kit.migrations import head_revisions

    head = head_revisions(MIGRATIONS)[0]
    partial = pana("migrations", "upgrade", "--service", "rsd", "--database-url", url, "--revision", "0008")
    assert partial.returncode == 0 and "rsd: empty -> 0008" in partial.stdout, partial.stderr
    behind = pana("migrations", "current", "--service", "rsd", "--database-url", url, "--check")
    assert behind.returncode == 1 and f"rsd: at 0008; head {head} (BEHIND)" in behind.stdout
    up = pana("migrations", "upgrade", "--service", "rsd", "--database-url", url)
    assert up.returncode == 0 and f"rsd: 0008 -> {head}" in up.stdout, up.stderr
    now = pana("migrations", "current", "--service", "rsd", "--database-url", url, "--check")
    assert now.returncode == 0 and "(up to date)" in now.stdout
    bad = pana("migrations", "upgrade", "--service", "rsd", "--database-url", url, "--revision", "9999")
    assert bad.returncode == 2 and "no revision '9999'" in bad.stderr
