"""duplicate matching engine: compact match records beside the blocking keys, birth year on each key

`person_match_records` keeps each person's comparable view (names, birth date, sex, country, citizenships,
identity document numbers; nothing sealed) so a duplicate check never loads persons' documents;
`person_blocking_keys.birth_year` and the index (key, birth_year, person_id) let a check read each key's holders
nearest in age with LIMIT instead of aggregating over every holder. Backfill: every person's match record and keys
are rebuilt from the stored documents with the default matching rules — the keys `blocking_keys` yields, so the
Fellegi–Sunter model's name-pair (`p:`, either order) and exact-birth-date (`b:`) keys too (a service configured
with other rules runs `pana registration reindex-matching` after upgrading).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 16:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "person_match_records",
        sa.Column("person_id", sa.String(length=64), primary_key=True),
        sa.Column("record", sa.JSON(), nullable=False),
    )
    with op.batch_alter_table("person_blocking_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))
        batch_op.drop_index("ix_blocking_key")
        batch_op.create_index("ix_blocking_key_year", ["key", "birth_year", "person_id"], unique=False)

    from registration.domain import MatchingConfig
    from registration.matching_engine import reindex_sync

    reindex_sync(op.get_bind(), MatchingConfig())


def downgrade() -> None:
    with op.batch_alter_table("person_blocking_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_blocking_key_year")
        batch_op.create_index("ix_blocking_key", ["key"], unique=False)
        batch_op.drop_column("birth_year")
    op.drop_table("person_match_records")
