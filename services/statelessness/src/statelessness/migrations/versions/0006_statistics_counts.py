"""statistics from a summary table: statistics_counts (day, figure), what was counted of each case, flag and
naturalization track (`tally`) and of each person as stateless (stateless_members); backfilled from the rows

The statistics read the summary (one aggregate query) instead of every case, inquiry, flag and track. Backfill:
from the plain columns (cases, inquiries, child_flags, naturalization_tracks, persons), counted as the write path
counts them (statelessness.store.summary), so no key is needed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:45:00
"""
from collections import Counter
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ROWS = {'cases': (('opened_on', sa.Date), ('decided_on', sa.Date), ('outcome', sa.String),
                  ('recognised_on', sa.Date)),
        'child_flags': (('rule', sa.String), ('flagged_on', sa.Date), ('resolved_on', sa.Date)),
        'naturalization_tracks': (('outcome', sa.String), ('decided_on', sa.Date))}


def upgrade() -> None:
    for table in ROWS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('tally', sa.JSON(), nullable=True))
    members = op.create_table(
        'stateless_members',
        sa.Column('person_id', sa.String(length=100), nullable=False),
        sa.Column('tally', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('person_id'),
    )
    counts = op.create_table(
        'statistics_counts',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('figure', sa.String(length=120), nullable=False),
        sa.Column('shard', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'figure', 'shard'),
    )
    backfill(op.get_bind(), members, counts)


def backfill(conn, members, counts) -> None:
    from pana_kit.counters import changes_to_json, moved_counts
    from statelessness.domain.statistics import stateless_person_changes
    from statelessness.store.summary import changes_of
    from statelessness.store.tables import CaseRow, ChildFlagRow, NaturalizationTrackRow

    row_types = {'cases': CaseRow, 'child_flags': ChildFlagRow, 'naturalization_tracks': NaturalizationTrackRow}
    totals: Counter = Counter()
    inquiry = sa.table('inquiries', sa.column('case_id', sa.String), sa.column('state', sa.String),
                       sa.column('status', sa.String), sa.column('sent_on', sa.Date), sa.column('reply_due', sa.Date),
                       sa.column('answered_on', sa.Date))
    inquiries: dict[str, list] = {}
    for q in conn.execute(sa.select(inquiry)):
        inquiries.setdefault(q.case_id, []).append(q)
    recognised: dict[str, list] = {}
    naturalized: dict[str, list] = {}
    for table, columns in ROWS.items():
        t = sa.table(table, sa.column('id', sa.String), sa.column('person_id', sa.String),
                     *(sa.column(name, kind) for name, kind in columns), sa.column('tally', sa.JSON))
        person = [t.c.person_id] if table != 'child_flags' else []
        for row in conn.execute(sa.select(t.c.id, *person, *(t.c[name] for name, _ in columns))).mappings().all():
            changes = changes_of(row_types[table], dict(row), inquiries.get(row['id'], ()))
            totals.update(moved_counts(row['id'], None, changes))
            conn.execute(t.update().where(t.c.id == row['id']).values(tally=changes_to_json(changes)))
            if table == 'cases' and row['recognised_on'] is not None:
                recognised.setdefault(row['person_id'], []).append(max(row['opened_on'], row['recognised_on']))
            if table == 'naturalization_tracks' and row['outcome'] == 'granted' and row['decided_on'] is not None:
                naturalized.setdefault(row['person_id'], []).append(row['decided_on'])
    people = sa.table('persons', sa.column('person_id', sa.String), sa.column('sex', sa.String),
                      sa.column('birth_date', sa.Date))
    persons = {r.person_id: r for r in conn.execute(sa.select(people))}
    for person_id in sorted(recognised):
        p = persons.get(person_id)
        changes = stateless_person_changes(recognised[person_id], naturalized.get(person_id, ()),
                                           p.sex if p else None, p.birth_date if p else None)
        totals.update(moved_counts(f"person:{person_id}", None, changes))
        conn.execute(members.insert().values(person_id=person_id, tally=changes_to_json(changes)))
    rows = [dict(day=k[0], figure=k[1], shard=k[2], count=n) for k, n in sorted(totals.items()) if n]
    for i in range(0, len(rows), 1000):
        conn.execute(counts.insert(), rows[i:i + 1000])


def downgrade() -> None:
    op.drop_table('statistics_counts')
    op.drop_table('stateless_members')
    for table in ROWS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('tally')
