"""kit tables v2: the inbox records topic and outcome (handled | skipped), read by time window; the outbox
is read by creation time (replay by range, reconciliation, retention)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 13:00:00
"""
from typing import Sequence, Union

from pana_kit.migration_ops import downgrade_kit_tables_v2, upgrade_kit_tables_v2


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    upgrade_kit_tables_v2()


def downgrade() -> None:
    downgrade_kit_tables_v2()
