"""kit tables v5: the outbox relay advances a position row instead of marking each published row;
rows to publish again are listed in outbox_replay

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 16:30:00
"""
from typing import Sequence, Union

from pana_kit.migration_ops import downgrade_kit_tables_v5, upgrade_kit_tables_v5


revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    upgrade_kit_tables_v5()


def downgrade() -> None:
    downgrade_kit_tables_v5()
