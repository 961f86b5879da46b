"""applicants: the personal fields (names, sex, birth date, citizenship, specific needs) move into one document
column, sealed by the service (pana_kit.crypto.SealedDocument; the column is JSON in the database)

The migration only moves the values; it holds no key, so it writes the documents unsealed and the service seals
them at start-up, before serving (`rsd.app._upgrade_sealed`, idempotent). Downgrade needs the rows unsealed,
which only the service can do: it refuses when a sealed document is stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:30:00
"""
import datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

FIELDS = ('given_name', 'family_name', 'sex', 'birth_date', 'citizenship', 'specific_needs')


def _iso(value):
    return value.isoformat() if hasattr(value, 'isoformat') else value


def upgrade() -> None:
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document', sa.JSON(), nullable=True))
    bind = op.get_bind()
    old = sa.table('applicants', sa.column('person_id', sa.String), sa.column('given_name', sa.String),
                   sa.column('family_name', sa.String), sa.column('sex', sa.String), sa.column('birth_date', sa.Date),
                   sa.column('citizenship', sa.JSON), sa.column('specific_needs', sa.JSON),
                   sa.column('document', sa.JSON))
    rows = bind.execute(sa.select(old.c.person_id, *(old.c[f] for f in FIELDS))).all()
    for row in rows:
        doc = {'person_id': row.person_id, **{f: _iso(getattr(row, f)) for f in FIELDS}}
        bind.execute(old.update().where(old.c.person_id == row.person_id).values(document=doc))
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.alter_column('document', existing_type=sa.JSON(), nullable=False)
        for field in FIELDS:
            batch_op.drop_column(field)


def downgrade() -> None:
    bind = op.get_bind()
    table = sa.table('applicants', sa.column('person_id', sa.String), sa.column('document', sa.JSON))
    rows = bind.execute(sa.select(table.c.person_id, table.c.document)).all()
    if any(isinstance(doc, dict) and '_sealed' in doc for _, doc in rows):
        raise RuntimeError('applicants are sealed: the migration holds no key to open them (restore a backup instead)')
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('family_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('sex', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('citizenship', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('specific_needs', sa.JSON(), nullable=True))
    full = sa.table('applicants', sa.column('person_id', sa.String), sa.column('given_name', sa.String),
                    sa.column('family_name', sa.String), sa.column('sex', sa.String), sa.column('birth_date', sa.Date),
                    sa.column('citizenship', sa.JSON), sa.column('specific_needs', sa.JSON))
    for person_id, doc in rows:
        values = {f: doc.get(f) for f in FIELDS}
        if values['birth_date']:
            values['birth_date'] = datetime.date.fromisoformat(values['birth_date'])
        bind.execute(full.update().where(full.c.person_id == person_id).values(**values))
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.drop_column('document')
