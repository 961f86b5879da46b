"""`pana keys reencrypt` on statelessness: its case documents' personal text (sealed by the repository itself,
through the `pana.sealed` entry point) moves under the active key, and every case still opens with that key only."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pana_kit import crypto
from pana_kit.crypto import Keyring
from pana_kit.db import Database
from pana_kit.migrations import upgrade
from pana_kit.rekey import reencrypt, service_places
from sqlalchemy import select

from statelessness.app import MIGRATIONS
from statelessness.domain import DeterminationCase, OpeningReason, StatelessnessRules
from statelessness.store.repository import Cases
from statelessness.store.tables import CaseRow


async def test_case_documents_are_resealed_under_the_active_key_and_open_without_the_old_one(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'statelessness.db'}"
    upgrade(Path(MIGRATIONS), url)
    path = tmp_path / "keyring.json"
    keyring = Keyring.generate_file(path, key_id="k1")
    db = Database(url)
    try:
        async with db.transaction() as session:
            for i in range(3):
                case = DeterminationCase.open(case_id=f"c{i}", person_id=f"p{i}", reason=OpeningReason.APPLICATION,
                                              opened_on=date(2026, 1, 5), rules=StatelessnessRules(),
                                              birth_date=date(1990, 5, 1), feared_states=(),
                                              reason_note=f"note {i}")
                await Cases(session, keyring).add(case)
        places = service_places("statelessness")
        assert [p.name for p in places] == ["cases.document", "dead_letters.payload"]

        crypto.rotate_file(path, key_id="k2")
        fresh = Keyring.from_file(path)
        (dry, _) = await reencrypt(db, fresh, places, dry_run=True)
        assert (dry.scanned, dry.resealed) == (3, 3)
        (done, _) = await reencrypt(db, fresh, places, batch_size=2)
        assert done.resealed == 3
        (again, _) = await reencrypt(db, fresh, places)
        assert again.resealed == 0

        only_k2 = Keyring.from_file(path)
        only_k2._install("k2", {"k2": only_k2._keys["k2"]})
        async with db.session() as session:
            docs = list((await session.execute(select(CaseRow.document).order_by(CaseRow.id))).scalars())
            assert all(d["reason_note"].startswith("v1.k2.") for d in docs)
            loaded = [(await Cases(session, only_k2).load(f"c{i}"))[0] for i in range(3)]
        assert [c.reason_note for c in loaded] == ["note 0", "note 1", "note 2"]
    finally:
        await db.dispose()
