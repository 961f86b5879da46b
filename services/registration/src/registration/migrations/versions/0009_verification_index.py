"""verification_index: the verification projection (document number -> kind, state, expiry, the holder's birth
date to match, the revocation reason verification may tell), read by `GET /api/v1/verify/{number}` with one
primary-key lookup; backfilled here from every issued document.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 16:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_BATCH = 5000


def upgrade() -> None:
    index = op.create_table(
        "verification_index",
        sa.Column("document_number", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("holder_birth_date", sa.Date()),
        sa.Column("revocation_reason", sa.String(20)),
    )
    _backfill(op.get_bind(), index)


def _backfill(bind, index: sa.Table) -> None:
    """Every issued document's entry, read a batch at a time in number order (the documents are not sealed)."""
    from registration.domain import IssuedDocument, VerificationEntry

    documents = sa.table("issued_documents", sa.column("document_number", sa.String), sa.column("document", sa.JSON))
    last = ""
    while True:
        rows = bind.execute(sa.select(documents.c.document_number, documents.c.document)
                            .where(documents.c.document_number > last)
                            .order_by(documents.c.document_number).limit(_BATCH)).all()
        if not rows:
            return
        entries = []
        for row in rows:
            entry = VerificationEntry.of(IssuedDocument.from_document(row.document))
            entries.append(dict(document_number=row.document_number, kind=entry.kind, state=entry.state,
                                expires_on=entry.expires_on, holder_birth_date=entry.holder_birth_date,
                                revocation_reason=entry.revocation_reason))
        bind.execute(index.insert(), entries)
        last = rows[-1].document_number


def downgrade() -> None:
    op.drop_table("verification_index")
