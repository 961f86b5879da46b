"""Sealing rows stored before sealing, at start-up (`pana_kit.crypto.sealing_at_startup`): in batches, idempotent,
for a `SealedDocument` column and for a column a service seals its own way. The services' own start-up upgrades are
tested in their suites (test_encryption_at_rest, test_applicants_sealed, test_encryption)."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import sqlalchemy as sa

from pana_dev.testing import capture_json_logs
from pana_kit.crypto import (SEALED_MARK, Keyring, SealedDocument, SealTarget, attach_keyring, seal_unsealed_rows,
                             sealing_at_startup)
from pana_kit.db import Database

metadata = sa.MetaData()
PEOPLE = sa.Table("people", metadata, sa.Column("id", sa.String, primary_key=True),
                  sa.Column("document", SealedDocument(service="kit-test", aggregate="person", id_key="id",
                                                       fields=("name",))),
                  sa.Column("name_length", sa.Integer))
NOTES = sa.Table("notes", metadata, sa.Column("id", sa.String, primary_key=True), sa.Column("document", sa.JSON))


def seal_note(doc: dict, keyring: Keyring) -> dict:
    return {**doc, "text": keyring.encrypt_field(doc["text"], service="kit-test", aggregate="note",
                                                 aggregate_id=doc["id"], field="text"), "sealed": 1}


TARGETS = (
    SealTarget(PEOPLE, "id", what="person(s)", also=lambda doc, keyring: {"name_length": len(doc["name"])}),
    SealTarget(NOTES, "id", what="note(s)", is_sealed=lambda doc: doc.get("sealed") == 1, seal=seal_note),
)


async def test_rows_stored_before_sealing_are_sealed_in_batches_once(tmp_path):
    keyring = Keyring.generate_file(tmp_path / "keyring.json", key_id="k1")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
    attach_keyring(db.engine, keyring)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        # Written before sealing: the JSON as it is, around the sealing type.
        raw = sa.type_coerce(sa.bindparam("document"), sa.JSON)
        await conn.execute(PEOPLE.insert().values(document=raw),
                           [{"id": f"p{i}", "document": {"id": f"p{i}", "name": f"Aruzhan {i}"}} for i in range(5)])
        await conn.execute(NOTES.insert(), [{"id": f"n{i}", "document": {"id": f"n{i}", "text": f"Karimov {i}"}}
                                            for i in range(3)])
    app = SimpleNamespace(state=SimpleNamespace(db=db, keyring=keyring))
    with capture_json_logs("kit-test", level=logging.INFO) as logs:
        await sealing_at_startup("kit-test", *TARGETS)(app)
    assert "5 person(s), 3 note(s)" in logs.text

    async with db.transaction() as session:
        stored = (await session.execute(sa.select(sa.type_coerce(PEOPLE.c.document, sa.JSON)))).scalars().all()
        assert all(SEALED_MARK in doc for doc in stored) and "Aruzhan" not in json.dumps(stored)
        people = (await session.execute(sa.select(PEOPLE.c.id, PEOPLE.c.document, PEOPLE.c.name_length)
                                        .order_by(PEOPLE.c.id))).all()
        assert [(d["name"], n) for _, d, n in people] == [(f"Aruzhan {i}", 9) for i in range(5)]
        notes = (await session.execute(sa.select(NOTES.c.document))).scalars().all()
        assert "Karimov" not in json.dumps(notes) and {n["sealed"] for n in notes} == {1}
        # Idempotent, whatever the batch size: a sealed row is skipped without decrypting.
        assert [await seal_unsealed_rows(session, t, batch_size=2) for t in TARGETS] == [0, 0]
    with capture_json_logs("kit-test", level=logging.INFO) as logs:
        await sealing_at_startup("kit-test", *TARGETS)(app)
    assert "sealed stored rows" not in logs.text
    await db.dispose()


async def test_batches_reach_every_row(tmp_path):
    keyring = Keyring.generate_file(tmp_path / "keyring.json", key_id="k1")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(NOTES.insert(), [{"id": f"n{i:02}", "document": {"id": f"n{i:02}", "text": "x"}}
                                            for i in range(7)])
    async with db.transaction() as session:
        assert await seal_unsealed_rows(session, TARGETS[1], keyring=keyring, batch_size=2) == 7
        assert await seal_unsealed_rows(session, TARGETS[1], keyring=keyring, batch_size=2) == 0
    await db.dispose()
