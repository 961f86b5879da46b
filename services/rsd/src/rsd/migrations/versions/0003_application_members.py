"""application members: every person on an application, so events about a person find it

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:20:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    members = op.create_table(
        'application_members',
        sa.Column('application_id', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('application_id', 'person_id'),
    )
    with op.batch_alter_table('application_members', schema=None) as batch_op:
        batch_op.create_index('ix_application_members_person', ['person_id'], unique=False)
    # Existing applications: their members, read from each application's document.
    bind = op.get_bind()
    applications = sa.table('applications', sa.column('id', sa.String), sa.column('document', sa.JSON))
    rows = []
    for application_id, document in bind.execute(sa.select(applications.c.id, applications.c.document)):
        people = {m.get('person_id') for m in (document or {}).get('members', []) if m.get('person_id')}
        rows.extend({'application_id': application_id, 'person_id': p} for p in sorted(people))
    if rows:
        op.bulk_insert(members, rows)


def downgrade() -> None:
    with op.batch_alter_table('application_members', schema=None) as batch_op:
        batch_op.drop_index('ix_application_members_person')
    op.drop_table('application_members')
