"""match records carry their compact form: what a duplicate check reads of a candidate, one line of text

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 12:30:00

`person_match_records.compact` (`matching_engine.compact_record`): the record normalised (each name's forms, the
patronymic's stem, birth date and precision, sex, country, citizenships, document numbers) with the blocking key
length it was made with, written beside the record's JSON by everything that writes a record (`index_rows`). A
check reads it instead of the JSON when its length is the check's (else the JSON, as before: a record written by
older code has none), and builds the record's `Normalised` value from it with `str.split` and look-ups. The JSON
stays the record (the digest is of it, and a service with another key length reads it).

On PostgreSQL 0017's covering index of the digests becomes (person_id) INCLUDE (digest, compact): a cold check
reads its candidates' digests and compact records by an index-only scan, no row fetched (a compact record too long
for an index entry is not kept: `COMPACT_MAX_BYTES`).

Backfill: every record's compact form from its JSON with the default matching rules (a service configured with
another blocking key length runs `pana registration reindex-matching` after upgrading, as after 0008). On
PostgreSQL every row is rewritten once: run VACUUM ANALYZE after upgrading a large register (index-only scans of
the digests need the visibility map).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0018'
down_revision: Union[str, None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("person_match_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("compact", sa.Text(), nullable=True))

    from registration.domain import MatchingConfig
    from registration.matching_engine import compact_backfill_sync

    compact_backfill_sync(op.get_bind(), MatchingConfig())
    if op.get_bind().dialect.name == "postgresql":  # 0017's covering index, with the compact records too
        op.execute("CREATE INDEX ix_match_record_compact ON person_match_records (person_id) INCLUDE (digest, compact)")
        op.execute("DROP INDEX ix_match_record_digest")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_match_record_digest ON person_match_records (person_id) INCLUDE (digest)")
        op.execute("DROP INDEX ix_match_record_compact")
    with op.batch_alter_table("person_match_records", schema=None) as batch_op:
        batch_op.drop_column("compact")
