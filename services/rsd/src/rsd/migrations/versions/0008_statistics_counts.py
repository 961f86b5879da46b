"""statistics from a summary table: statistics_counts (per office, day and figure) and applications.tally (what
was counted of each application)

The statistics read the summary (one aggregate query) instead of every application of the office. Backfill: the
members of an application (the persons counted) are sealed, so the migration, which holds no key, leaves
`tally` NULL and the service counts every such application at start-up before serving
(rsd.app._count_statistics, idempotent: only rows whose tally is NULL).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 16:40:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tally', sa.JSON(), nullable=True))
    op.create_table(
        'statistics_counts',
        sa.Column('office', sa.String(length=100), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('figure', sa.String(length=60), nullable=False),
        sa.Column('shard', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('office', 'day', 'figure', 'shard'),
    )


def downgrade() -> None:
    op.drop_table('statistics_counts')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('tally')
