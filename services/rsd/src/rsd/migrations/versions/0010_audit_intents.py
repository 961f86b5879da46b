"""audit intents: commands commit their audit entry without the chain's lock; one chainer links them into
the keyed chain in batches (pana_kit.audit.AuditChainer)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:30:00
"""
from typing import Sequence, Union

from pana_kit.migration_ops import create_audit_intents, drop_audit_intents


revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_audit_intents()


def downgrade() -> None:
    drop_audit_intents()
