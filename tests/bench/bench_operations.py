"""What the operator commands cost, against anchors in the same process on the same database:

- `keys reencrypt` (pana_kit.rekey) over N of rsd's applicant documents (six sealed fields each), batches of 200
  with the rows locked, against the anchor: the same documents' open + seal in memory, and one plain
  `UPDATE ... SET document = ...` per row in batches (what re-sealing could not cost less than).
- `retention prune` (pana_kit.retention) of N inbox rows past their period in batches of 1000, against the
  anchor: one `DELETE FROM inbox WHERE handled_at < cutoff`.

    python tests/bench/bench_operations.py [--rows 5000] [--database-url URL]   (default: SQLite in a temp dir)
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import JSON, delete, select, type_coerce, update

from pana_kit import crypto
from pana_kit.crypto import Keyring, attach_keyring
from pana_kit.db import Database
from pana_kit.migrations import upgrade
from pana_kit.rekey import reencrypt, service_places
from pana_kit.retention import prune_inbox
from pana_kit.tables import InboxMessage

NOW = datetime.now(timezone.utc)


async def main(rows: int, url: str, keyring_path: Path) -> None:
    from rsd.app import MIGRATIONS
    from rsd.store.tables import ApplicantDocument, ApplicantRow

    upgrade(Path(MIGRATIONS), url)
    keyring = Keyring.generate_file(keyring_path, key_id="k1")
    db = Database(url)
    attach_keyring(db.engine, keyring)
    docs = [{"person_id": f"p{i:07d}", "given_name": "Aruzhan", "family_name": "Sadykova", "sex": "female",
             "birth_date": "1990-05-01", "citizenship": ["AFG"], "specific_needs": ["medical"]} for i in range(rows)]
    async with db.transaction() as session:
        session.add_all(ApplicantRow(person_id=d["person_id"], document=d, updated_at=NOW) for d in docs)
    crypto.rotate_file(keyring_path, key_id="k2")
    fresh = Keyring.from_file(keyring_path)
    attach_keyring(db.engine, fresh)

    # anchor 1: open + seal in memory
    async with db.session() as session:
        raw = list((await session.execute(select(type_coerce(ApplicantRow.document, JSON)))).scalars())
    started = time.perf_counter()
    resealed = [ApplicantDocument.seal(ApplicantDocument.open(doc, fresh), fresh) for doc in raw]
    crypto_s = time.perf_counter() - started

    # anchor 2: plain UPDATE of the same rows with the values precomputed, batches of 200
    started = time.perf_counter()
    table = ApplicantRow.__table__
    for start in range(0, rows, 200):
        async with db.transaction() as session:
            for doc in resealed[start:start + 200]:
                await session.execute(update(table).where(table.c.person_id == doc["person_id"])
                                      .values(document=type_coerce(doc, JSON)))
    update_s = time.perf_counter() - started
    # back to k1 for the measured run: reseal the rows under k1 again
    crypto.activate_in_file(keyring_path, "k1")
    old = Keyring.from_file(keyring_path)
    attach_keyring(db.engine, old)
    places = [p for p in service_places("rsd") if p.name == "applicants.document"]
    await reencrypt(db, old, places)
    crypto.activate_in_file(keyring_path, "k2")
    fresh = Keyring.from_file(keyring_path)
    attach_keyring(db.engine, fresh)

    started = time.perf_counter()
    (done,) = await reencrypt(db, fresh, places)
    rekey_s = time.perf_counter() - started
    assert done.resealed == rows
    print(f"keys reencrypt: {rows} applicant documents in {rekey_s:.2f} s ({rows / rekey_s:,.0f} rows/s); "
          f"anchors: open+seal in memory {crypto_s:.2f} s, plain UPDATEs {update_s:.2f} s, sum "
          f"{crypto_s + update_s:.2f} s; ratio {rekey_s / (crypto_s + update_s):.2f}x the anchors' sum")

    async def fill_inbox() -> None:
        async with db.transaction() as session:
            session.add_all(InboxMessage(consumer_group="rsd", event_id=f"e{i}", event_type="t",
                                         handled_at=NOW - timedelta(days=40)) for i in range(rows))

    await fill_inbox()
    started = time.perf_counter()
    async with db.transaction() as session:
        await session.execute(delete(InboxMessage).where(InboxMessage.handled_at < NOW - timedelta(days=30)))
    anchor_s = time.perf_counter() - started
    await fill_inbox()
    started = time.perf_counter()
    pruned = await prune_inbox(db, retention=timedelta(days=30))
    prune_s = time.perf_counter() - started
    assert pruned == rows
    print(f"retention prune: {rows} inbox rows in {prune_s:.2f} s ({rows / prune_s:,.0f} rows/s); anchor one DELETE "
          f"{anchor_s:.2f} s; ratio {prune_s / anchor_s:.2f}x")
    await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/rsd.db"
        asyncio.run(main(args.rows, url, Path(tmp) / "keyring.json"))
