"""kit tables v3: an Idempotency-Key belongs to the caller (subject, scope, key) and expires (created_at index)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:00:00
"""
from typing import Sequence, Union

from pana_kit.migration_ops import downgrade_kit_tables_v3, upgrade_kit_tables_v3


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    upgrade_kit_tables_v3()


def downgrade() -> None:
    downgrade_kit_tables_v3()
