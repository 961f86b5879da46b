"""audit log: a keyed MAC per entry (its key is not in the database); UPDATE and DELETE (and on PostgreSQL
TRUNCATE) on audit_log refused by a trigger

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:00:00
"""
from typing import Sequence, Union

from pana_kit.migration_ops import downgrade_audit_log_keyed, upgrade_audit_log_keyed


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    upgrade_audit_log_keyed()


def downgrade() -> None:
    downgrade_audit_log_keyed()
