"""Migration 0005 (kit tables v3): Idempotency-Keys keyed by caller; old rows kept under subject '' (never
replayed to anyone, purged by age); down and up again."""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import command
from pana_kit.migrations import alembic_config, packaged_migrations, upgrade

MIGRATIONS = packaged_migrations("rsd")


def test_idempotency_keys_move_to_per_caller_keys(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    upgrade(MIGRATIONS, url, "0004")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rsd.db'}")
    row = {"now": datetime.now(timezone.utc)}
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response_body, headers, "
                          "created_at) VALUES ('rsd-lodge:x', 'k-00000001', 'h', 201, '{}', '{}', :now)"), row)
    upgrade(MIGRATIONS, url, "head")
    with engine.begin() as c:
        assert [tuple(r) for r in c.execute(sa.text("SELECT subject, scope, key FROM idempotency_keys"))] == [
            ("", "rsd-lodge:x", "k-00000001")]
        # Two callers may now hold the same key.
        c.execute(sa.text("INSERT INTO idempotency_keys VALUES ('officer-b', 'rsd-lodge:x', 'k-00000001', 'h', 201, "
                          "'{}', '{}', :now)"), row)
        assert "ix_idempotency_created" in {r[1] for r in c.execute(sa.text("PRAGMA index_list(idempotency_keys)"))}
    command.downgrade(alembic_config(MIGRATIONS, url), "0004")
    with engine.begin() as c:
        assert c.execute(sa.text("SELECT count(*) FROM idempotency_keys")).scalar_one() == 1
    upgrade(MIGRATIONS, url, "head")
