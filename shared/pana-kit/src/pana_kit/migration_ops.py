"""Versioned DDL of the kit's tables, called from each service's first migration.

Written out (not generated from the models) so that a later change to a kit
table is a new function here and a new migration in each service, never a
silent change to what an old migration creates.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def create_kit_tables_v1() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", _BIGINT_PK, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("published_at", _TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "seq"])
    op.create_table(
        "inbox",
        sa.Column("consumer_group", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("handled_at", _TS, nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(300), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", _BIGINT_PK, primary_key=True, autoincrement=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(200)),
        sa.Column("role", sa.String(100)),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("resource", sa.String(300), nullable=False),
        sa.Column("purpose", sa.String(300)),
        sa.Column("outcome", sa.String(50), nullable=False),
        sa.Column("trace_id", sa.String(64)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_resource", "audit_log", ["resource"])
    op.create_index("ix_audit_subject", "audit_log", ["subject"])


def upgrade_kit_tables_v2() -> None:
    """The inbox says what it received (topic, outcome: handled | skipped) and is read by time window;
    the outbox is read by creation time (replay by range, reconciliation, retention)."""
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("topic", sa.String(200), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(20), nullable=False, server_default="handled"))
    op.create_index("ix_inbox_handled", "inbox", ["consumer_group", "handled_at", "event_id"])
    op.create_index("ix_outbox_created", "outbox", ["created_at", "seq"])


def downgrade_kit_tables_v2() -> None:
    op.drop_index("ix_outbox_created", table_name="outbox")
    op.drop_index("ix_inbox_handled", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("outcome")
        batch.drop_column("topic")


_PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION pana_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def upgrade_audit_log_keyed() -> None:
    """The audit log: a keyed MAC per entry (the key is not in the database), and append-only enforced by the
    database: PostgreSQL refuses UPDATE, DELETE and TRUNCATE on audit_log; SQLite refuses UPDATE and DELETE."""
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("mac", sa.String(64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION pana_audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION pana_audit_log_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def downgrade_audit_log_keyed() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS pana_audit_log_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{verb}")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("mac")


def upgrade_kit_tables_v4() -> None:
    """Operations: dead letters kept in the database (`pana dlq`), and the index retention deletes the inbox by
    (age across consumer groups; outbox and idempotency rows already have theirs: ix_outbox_unpublished,
    ix_idempotency_created)."""
    op.create_table(
        "dead_letters",
        sa.Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
        sa.Column("consumer_group", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(200)),
        sa.Column("event_type", sa.String(200)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("key", sa.Text()),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("failed_at", _TS, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="dead"),
        sa.Column("replays", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("replay_requested_at", _TS),
        sa.Column("replayed_at", _TS),
        sa.Column("outcome", sa.String(20)),
    )
    op.create_index("ux_dead_letters_record", "dead_letters", ["consumer_group", "topic", "partition", "offset"],
                    unique=True)
    op.create_index("ix_dead_letters_status", "dead_letters", ["consumer_group", "status", "id"])
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"])


def downgrade_kit_tables_v4() -> None:
    op.drop_index("ix_inbox_handled_at", table_name="inbox")
    op.drop_index("ix_dead_letters_status", table_name="dead_letters")
    op.drop_index("ux_dead_letters_record", table_name="dead_letters")
    op.drop_table("dead_letters")


def create_audit_intents() -> None:
    """Audit intents: entries committed with their command, waiting for the chainer (pana_kit.audit.AuditChainer),
    so a command no longer holds the chain's lock until it commits."""
    op.create_table(
        "audit_intents",
        sa.Column("id", _BIGINT_PK, primary_key=True, autoincrement=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(200)),
        sa.Column("role", sa.String(100)),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("resource", sa.String(300), nullable=False),
        sa.Column("purpose", sa.String(300)),
        sa.Column("outcome", sa.String(50), nullable=False),
        sa.Column("trace_id", sa.String(64)),
        sa.Column("mac", sa.String(64)),
        sa.Column("rejected", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def drop_audit_intents() -> None:
    op.drop_table("audit_intents")


_AUDIT_COLUMNS = "seq, at, subject, client_id, role, action, resource, purpose, outcome, trace_id, prev_hash, hash, mac"


def partition_audit_log_by_month() -> None:
    """PostgreSQL: audit_log partitioned by month of `at` (pana_kit.audit_archive), its rows copied over, the same
    append-only triggers (UPDATE and DELETE refused on every partition, TRUNCATE on the parent and on each month).
    The primary key becomes (seq, at), as a partitioned table needs; seqs are still given by the chain. A default
    partition takes what falls outside the months made (the service makes the coming ones ahead of time).
    SQLite keeps one table."""
    if op.get_bind().dialect.name != "postgresql":
        return
    from .audit_archive import month_start, partition_ddl

    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("ALTER TABLE audit_log RENAME TO audit_log_unpartitioned")
    op.execute("ALTER INDEX ix_audit_resource RENAME TO ix_audit_resource_unpartitioned")
    op.execute("ALTER INDEX ix_audit_subject RENAME TO ix_audit_subject_unpartitioned")
    op.execute("""
        CREATE TABLE audit_log (
            seq BIGINT NOT NULL, at TIMESTAMPTZ NOT NULL, subject VARCHAR(200) NOT NULL, client_id VARCHAR(200),
            role VARCHAR(100), action VARCHAR(100) NOT NULL, resource VARCHAR(300) NOT NULL, purpose VARCHAR(300),
            outcome VARCHAR(50) NOT NULL, trace_id VARCHAR(64), prev_hash VARCHAR(64) NOT NULL,
            hash VARCHAR(64) NOT NULL, mac VARCHAR(64),
            CONSTRAINT pk_audit_log_partitioned PRIMARY KEY (seq, at)
        ) PARTITION BY RANGE (at)""")
    op.execute("CREATE INDEX ix_audit_resource ON audit_log (resource)")
    op.execute("CREATE INDEX ix_audit_subject ON audit_log (subject)")
    op.execute("CREATE INDEX ix_audit_seq ON audit_log (seq)")
    op.execute("CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT")
    bind = op.get_bind()
    first = bind.exec_driver_sql("SELECT min(at) AT TIME ZONE 'UTC' FROM audit_log_unpartitioned").scalar()
    now = bind.exec_driver_sql("SELECT now() AT TIME ZONE 'UTC'").scalar()
    start = month_start(first.year, first.month) if first else month_start(now.year, now.month)
    end = month_start(now.year, now.month + 3)
    while start <= end:
        for statement in partition_ddl(start.year, start.month):
            op.execute(statement)
        start = month_start(start.year, start.month + 1)
    op.execute(f"INSERT INTO audit_log ({_AUDIT_COLUMNS}) SELECT {_AUDIT_COLUMNS} FROM audit_log_unpartitioned")
    op.execute("DROP TABLE audit_log_unpartitioned")
    op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
               "FOR EACH ROW EXECUTE FUNCTION pana_audit_log_append_only()")
    op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION pana_audit_log_append_only()")


def unpartition_audit_log() -> None:
    """Back to one table (what archiving dropped stays in the archive files)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("ALTER TABLE audit_log RENAME TO audit_log_partitioned")
    op.execute("DROP INDEX IF EXISTS ix_audit_resource")
    op.execute("DROP INDEX IF EXISTS ix_audit_subject")
    op.execute("DROP INDEX IF EXISTS ix_audit_seq")
    op.execute("""
        CREATE TABLE audit_log (
            seq BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, subject VARCHAR(200) NOT NULL,
            client_id VARCHAR(200), role VARCHAR(100), action VARCHAR(100) NOT NULL, resource VARCHAR(300) NOT NULL,
            purpose VARCHAR(300), outcome VARCHAR(50) NOT NULL, trace_id VARCHAR(64), prev_hash VARCHAR(64) NOT NULL,
            hash VARCHAR(64) NOT NULL, mac VARCHAR(64))""")
    op.execute("CREATE INDEX ix_audit_resource ON audit_log (resource)")
    op.execute("CREATE INDEX ix_audit_subject ON audit_log (subject)")
    op.execute(f"INSERT INTO audit_log ({_AUDIT_COLUMNS}) SELECT {_AUDIT_COLUMNS} FROM audit_log_partitioned")
    op.execute("SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), coalesce(max(seq), 0) + 1, false) "
               "FROM audit_log")
    op.execute("DROP TABLE audit_log_partitioned CASCADE")
    op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
               "FOR EACH ROW EXECUTE FUNCTION pana_audit_log_append_only()")
    op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION pana_audit_log_append_only()")


def drop_kit_tables_v1() -> None:
    for table in ("audit_log", "idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)


_IDEMPOTENCY_COLUMNS = "scope, key, request_hash, status_code, response_body, headers, created_at"


def upgrade_kit_tables_v3() -> None:
    """Idempotency-Keys belong to the caller: the key is (subject, scope, key), and rows are purged by age.

    Backfill: rows written before this migration have no recorded caller; they are kept with subject ''
    (which no token has), so they are never replayed to anyone, and are purged with the others after the
    idempotency period. A client retrying across the upgrade gets a fresh write, not the old answer."""
    op.rename_table("idempotency_keys", "idempotency_keys_v2")
    op.create_table(
        "idempotency_keys",
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("subject", "scope", "key", name="pk_idempotency_keys_v3"),
    )
    op.create_index("ix_idempotency_created", "idempotency_keys", ["created_at"])
    op.execute(f"INSERT INTO idempotency_keys (subject, {_IDEMPOTENCY_COLUMNS}) "
               f"SELECT '', {_IDEMPOTENCY_COLUMNS} FROM idempotency_keys_v2")
    op.drop_table("idempotency_keys_v2")


def downgrade_kit_tables_v3() -> None:
    """Back to one key per scope: of a key used by several callers, the earliest row is kept."""
    op.rename_table("idempotency_keys", "idempotency_keys_v3")
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(300), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.execute(f"INSERT INTO idempotency_keys ({_IDEMPOTENCY_COLUMNS}) "
               f"SELECT {_IDEMPOTENCY_COLUMNS} FROM idempotency_keys_v3 AS v WHERE v.status_code <> 0 AND NOT EXISTS ("
               f"SELECT 1 FROM idempotency_keys_v3 AS o WHERE o.scope = v.scope AND o.key = v.key "
               f"AND (o.created_at < v.created_at OR (o.created_at = v.created_at AND o.subject < v.subject)))")
    op.drop_index("ix_idempotency_created", table_name="idempotency_keys_v3")
    op.drop_table("idempotency_keys_v3")


def upgrade_kit_tables_v5() -> None:
    """The outbox relay advances one position row instead of marking each published row; rows to publish
    again are listed in `outbox_replay`. Carried over: the position is the highest seq already marked
    published, and every row below it not marked (an old replay) is listed for replay."""
    op.create_table(
        "outbox_relay",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table("outbox_replay", sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False))
    op.execute("INSERT INTO outbox_relay (name, position, updated_at) SELECT 'outbox', "
               "COALESCE((SELECT MAX(seq) FROM outbox WHERE published_at IS NOT NULL), 0), CURRENT_TIMESTAMP")
    op.execute("INSERT INTO outbox_replay (seq) SELECT seq FROM outbox WHERE published_at IS NULL "
               "AND seq <= (SELECT position FROM outbox_relay WHERE name = 'outbox')")


def downgrade_kit_tables_v5() -> None:
    # Back to marks per row: everything up to the position, less what waits for replay, is published.
    op.execute("UPDATE outbox SET published_at = CURRENT_TIMESTAMP WHERE published_at IS NULL "
               "AND seq <= (SELECT position FROM outbox_relay WHERE name = 'outbox') "
               "AND seq NOT IN (SELECT seq FROM outbox_replay)")
    op.execute("UPDATE outbox SET published_at = NULL WHERE seq IN (SELECT seq FROM outbox_replay)")
    op.drop_table("outbox_replay")
    op.drop_table("outbox_relay")


def create_webhook_tables_v1() -> None:
    """Webhook subscriptions, their deliveries and the fan-out's cursor on the outbox (pana_kit.webhooks)."""
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_webhook_subscriptions_owner", "webhook_subscriptions", ["owner", "created_at", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subscription_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("last_attempt_at", _TS, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("delivered_at", _TS, nullable=True),
    )
    op.create_index("ix_webhook_deliveries_queue", "webhook_deliveries", ["subscription_id", "status", "seq"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "webhook_cursor",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
    )


def drop_webhook_tables_v1() -> None:
    for table in ("webhook_cursor", "webhook_deliveries", "webhook_subscriptions"):
        op.drop_table(table)
