"""The bridge's table: birth requests (indexed columns + the aggregate's document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Column, DateTime, Index, Integer, String, UniqueConstraint
from sqlmodel import Field

from pana_kit.crypto import SealedDocument
from pana_kit.tables import table_base

Base = table_base("civil-registry-bridge")
# The child's and parents' details, the certificate numbers, the child's IIN, and the registry's free text (a
# rejection reason, the last error) are sealed, each bound to (civil-registry-bridge, birth_request, id, field).
# Nothing is filtered by them: lists filter by the child's person id (registration's id), status and kind.
SEALED_FIELDS = ("child", "mother", "father", "medical_birth_certificate_number", "birth_certificate_number",
                 "certificate_number", "child_iin", "reason", "last_error")
RequestDocument = SealedDocument(service="civil-registry-bridge", aggregate="birth_request", id_key="request_id",
                                 fields=SEALED_FIELDS)


class BirthRequestRow(Base, table=True):
    __tablename__ = "birth_requests"
    __table_args__ = (
        UniqueConstraint("client", "idempotency_key", name="uq_birth_requests_client_key"),
        Index("ix_birth_requests_due", "status", "next_attempt_at"),
        Index("ix_birth_requests_status_updated", "status", "updated_at"),
        Index("ix_birth_requests_person", "person_id"),
        Index("ix_birth_requests_submission", "submission_id"),
        Index("ix_birth_requests_created", "created_at", "id"),
    )

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    client: str = Field(sa_column=Column(String(200), nullable=False))  # whose idempotency key: registration or an API client
    idempotency_key: str = Field(sa_column=Column(String(200), nullable=False))
    # A keyed hash (HMAC, the keyring's blind-index key) of what was asked, to tell a repeated Idempotency-Key
    # from a reused one; an unkeyed hash of a child's details could be tested against guesses.
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    person_id: Optional[str] = Field(default=None, sa_column=Column(String(100)))
    submission_id: Optional[str] = Field(default=None, sa_column=Column(String(100)))
    next_attempt_at: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(RequestDocument, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
