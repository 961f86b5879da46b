"""cases: one case in the procedure (open or under appeal) per person, held by a partial unique index

An application and an ex-officio opening arriving at the same moment both passed the use case's check and
opened two cases for one person. The index makes the second insert fail; the service answers it (409 to a
request; the event handled again finds the case).

Persons who already have two cases in the procedure (opened by that race) must be resolved first (close or
merge all but one): the migration refuses, naming the cases, rather than choose one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:40:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEX = 'uq_cases_person_in_procedure'
IN_PROCEDURE = "status IN ('open', 'under_appeal')"


def upgrade() -> None:
    bind = op.get_bind()
    twice = bind.execute(sa.text(
        f"SELECT person_id FROM cases WHERE {IN_PROCEDURE} GROUP BY person_id HAVING COUNT(*) > 1")).scalars().all()
    if twice:
        cases = bind.execute(sa.text(f"SELECT id FROM cases WHERE {IN_PROCEDURE} AND person_id IN :persons "
                                     "ORDER BY person_id, created_at").bindparams(
                                         sa.bindparam('persons', expanding=True)), {'persons': list(twice)}).scalars().all()
        raise RuntimeError(f"{len(twice)} person(s) have more than one case in the procedure (cases {', '.join(cases)}): "
                           "close or merge all but one of each, then migrate again")
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(INDEX, ['person_id'], unique=True, sqlite_where=sa.text(IN_PROCEDURE),
                              postgresql_where=sa.text(IN_PROCEDURE))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(INDEX)
