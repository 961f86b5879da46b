"""match records carry a digest of their JSON on PostgreSQL (a generated column): a duplicate check reads its
candidates' ids and digests, and the records only of those its process does not hold already

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 05:40:00

`digest` is `md5` of the record's JSON text, computed by PostgreSQL on every insert (the index is only ever
written by inserts: a changed person's record is deleted and inserted again), so no writer sets it and a record's
digest changes exactly when its text does. The table is rewritten once (about 1 GB a million persons). SQLite
has no md5 and keeps reading the records' text (its checks are keyed by the text itself). Not declared on the
model, so that SQLite's schema is unchanged.
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0016'
down_revision: Union[str, None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE person_match_records ADD COLUMN digest text "
                   "GENERATED ALWAYS AS (md5(CAST(record AS text))) STORED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE person_match_records DROP COLUMN digest")
