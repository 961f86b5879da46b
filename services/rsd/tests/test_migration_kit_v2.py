"""Migration 0004 (kit tables v2): the inbox rows already there stay, read as handled; down and up again."""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import command
from pana_kit.migrations import alembic_config, packaged_migrations, upgrade

MIGRATIONS = packaged_migrations("rsd")


def test_existing_inbox_rows_are_kept_as_handled(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    upgrade(MIGRATIONS, url, "0003")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rsd.db'}")
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO inbox (consumer_group, event_id, event_type, handled_at) "
                          "VALUES ('rsd', 'e-1', 'registration.person.registered.v1', :now)"), {"now": datetime.now(timezone.utc)})
    upgrade(MIGRATIONS, url, "head")
    with engine.begin() as c:
        assert [tuple(r) for r in c.execute(sa.text("SELECT event_id, topic, outcome FROM inbox"))] == [("e-1", None, "handled")]
        indexes = {r[1] for r in c.execute(sa.text("PRAGMA index_list(outbox)"))}
        assert "ix_outbox_created" in indexes
    command.downgrade(alembic_config(MIGRATIONS, url), "0003")
    upgrade(MIGRATIONS, url, "head")
    with engine.begin() as c:
        assert c.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one() == 1
