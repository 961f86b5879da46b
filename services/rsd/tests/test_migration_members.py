"""Migration 0003 fills `application_members` from the applications already stored."""

from datetime import datetime, timezone

import sqlalchemy as sa
from pana_kit.migrations import packaged_migrations, upgrade

MIGRATIONS = packaged_migrations("rsd")


def test_existing_applications_get_their_members(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    upgrade(MIGRATIONS, url, "0002")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rsd.db'}")
    now = datetime.now(timezone.utc)
    doc = {"members": [{"id": "m1", "person_id": "p-1"}, {"id": "m2", "person_id": "p-2"}]}
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO applications (id, person_id, office, status, priority, lodged_on, version, "
                          "document, created_at, updated_at) VALUES ('a-1', 'p-1', 'almaty', 'registered', 0, "
                          "'2026-01-01', 1, :doc, :now, :now)"), {"doc": __import__("json").dumps(doc), "now": now})
    upgrade(MIGRATIONS, url, "head")
    with engine.begin() as c:
        rows = c.execute(sa.text("SELECT application_id, person_id FROM application_members ORDER BY person_id"))
        assert [tuple(r) for r in rows] == [("a-1", "p-1"), ("a-1", "p-2")]
