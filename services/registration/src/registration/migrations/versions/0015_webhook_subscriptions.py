"""kit tables: webhook subscriptions, their deliveries and the fan-out cursor (pana_kit.webhooks)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 19:30:00
"""
from typing import Sequence, Union

from pana_kit.migration_ops import create_webhook_tables_v1, drop_webhook_tables_v1


revision: str = '0015'
down_revision: Union[str, None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_webhook_tables_v1()


def downgrade() -> None:
    drop_webhook_tables_v1()
