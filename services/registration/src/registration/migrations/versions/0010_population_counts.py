"""population statistics from a summary table: population_counts, and persons.population (what was counted
of each person); backfilled from every person's document and status facts

The statistics read the summary (one aggregate query) instead of every person's record. Backfill: each person
counted as the write path counts them (registration.domain.PopulationMember: only plain, never sealed, fields
of the document), so no key is needed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:30:00
"""
from collections import Counter
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('population', sa.JSON(), nullable=True))
    counts = op.create_table(
        'population_counts',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('legal_status', sa.String(length=60), nullable=False),
        sa.Column('sex', sa.String(length=20), nullable=False),
        sa.Column('age_bracket', sa.String(length=10), nullable=False),
        sa.Column('country_of_origin', sa.String(length=40), nullable=False),
        sa.Column('shard', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'legal_status', 'sex', 'age_bracket', 'country_of_origin', 'shard'),
    )
    backfill(op.get_bind(), counts)


def backfill(conn, counts) -> None:
    from registration.domain import FactKind, StatusFact, count_changes
    from registration.store.statistics import count_rows, member_of

    persons = sa.table('persons', sa.column('person_id', sa.String), sa.column('document', sa.JSON),
                       sa.column('population', sa.JSON))
    status_facts = sa.table('status_facts', sa.column('person_id', sa.String), sa.column('kind', sa.String),
                            sa.column('occurred_on', sa.Date), sa.column('source_event_id', sa.String),
                            sa.column('sequence', sa.Integer))
    facts: dict[str, list] = {}
    for r in conn.execute(sa.select(status_facts)):
        facts.setdefault(r.person_id, []).append(StatusFact(FactKind(r.kind), r.occurred_on, r.source_event_id,
                                                            r.sequence))
    totals: Counter = Counter()
    after = ""
    update = (persons.update().where(persons.c.person_id == sa.bindparam('pid'))
              .values(population=sa.bindparam('member')))
    while True:
        rows = conn.execute(sa.select(persons.c.person_id, persons.c.document).where(persons.c.person_id > after)
                            .order_by(persons.c.person_id).limit(BATCH)).all()
        if not rows:
            break
        members = []
        for pid, doc in rows:
            member = member_of(doc, facts.get(pid, ()))
            members.append({'pid': pid, 'member': member.to_document()})
            totals.update(count_rows(pid, count_changes(None, member)))
        conn.execute(update, members)
        after = rows[-1][0]
    rows = [dict(day=k[0], legal_status=k[1], sex=k[2], age_bracket=k[3], country_of_origin=k[4], shard=k[5], count=n)
            for k, n in sorted(totals.items()) if n]
    for i in range(0, len(rows), BATCH):
        conn.execute(counts.insert(), rows[i:i + BATCH])


def downgrade() -> None:
    op.drop_table('population_counts')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('population')
