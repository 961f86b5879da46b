"""case references a person can quote: applications.reference (`RSD-<year>-<number>`, unique) and case_references
(the last number given per year)

A reference is allocated once, when the application is stored first (the year is the lodging year; numbers run
from 1 within a year, in the order applications are stored), and never changes. Backfill: applications stored
before get theirs here, in the order they were lodged (lodged_on, created_at, id), and the counters start after
them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 19:20:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'case_references',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('year'),
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint('uq_applications_reference', ['reference'])
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, lodged_on FROM applications ORDER BY lodged_on, created_at, id")).all()
    last: dict[int, int] = {}
    for application_id, lodged_on in rows:
        year = lodged_on.year if hasattr(lodged_on, "year") else int(str(lodged_on)[:4])
        last[year] = last.get(year, 0) + 1
        bind.execute(sa.text("UPDATE applications SET reference = :r WHERE id = :i"),
                     {"r": f"RSD-{year}-{last[year]:06d}", "i": application_id})
    for year, number in sorted(last.items()):
        bind.execute(sa.text("INSERT INTO case_references (year, last) VALUES (:y, :n)"), {"y": year, "n": number})


def downgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint('uq_applications_reference', type_='unique')
        batch_op.drop_column('reference')
    op.drop_table('case_references')
