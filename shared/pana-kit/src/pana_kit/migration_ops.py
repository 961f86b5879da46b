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
