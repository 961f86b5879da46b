"""persons.office indexed: reads of the register are scoped by the person's (registering) office

The column exists since 0001 and is set from the registering officer's token. Backfill: none is possible
(the office was not recorded elsewhere); rows with no office stay NULL and are read only with the scope
registration:read:national.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_persons_office", "persons", ["office"])


def downgrade() -> None:
    op.drop_index("ix_persons_office", table_name="persons")
