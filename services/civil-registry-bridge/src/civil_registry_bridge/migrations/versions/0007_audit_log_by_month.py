"""audit log partitioned by month on PostgreSQL (pana_kit.audit_archive; SQLite keeps one table)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:45:00
"""
from typing import Sequence, Union

from pana_kit.migration_ops import partition_audit_log_by_month, unpartition_audit_log


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    partition_audit_log_by_month()


def downgrade() -> None:
    unpartition_audit_log()
