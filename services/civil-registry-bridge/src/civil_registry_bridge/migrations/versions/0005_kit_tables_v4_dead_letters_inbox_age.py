"""kit tables v4: dead letters kept in the database (`pana dlq list|show|replay`); an index on the inbox's
handled_at for retention (`pana retention prune`, the service's retention job)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:15:00
"""
from typing import Sequence, Union

from pana_kit.migration_ops import downgrade_kit_tables_v4, upgrade_kit_tables_v4


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    upgrade_kit_tables_v4()


def downgrade() -> None:
    downgrade_kit_tables_v4()
