"""Loading and saving birth requests; every query of requests goes through here."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import or_, select, update

from pana_kit.crypto import SealTarget, keyring_of, seal_unsealed
from pana_kit.domain import NotFound, StaleVersion
from pana_kit.paging import Page, by_creation

from ..domain.request import ACTIVE_STATES, CALLING_STATES, BirthRequest
from .tables import BirthRequestRow

DUE_STATES = sorted(CALLING_STATES | {"received"})
# Lists run oldest first; the cursor keys stay {"created_at", "id"} so issued cursors keep working.
_BY_CREATION = by_creation(BirthRequestRow)


FINGERPRINT_CONTEXT = "civil-registry-bridge:birth_request:fingerprint"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def keyed_fingerprint(keyring, request: BirthRequest) -> str:
    """What was asked, as a keyed hash (the keyring's blind-index key): equal requests give equal values, and
    nobody without the key can test a guessed child against the column."""
    return keyring.blind_index(request.fingerprint(), context=FINGERPRINT_CONTEXT)


# Stored before their details were encrypted: sealed at start-up, before serving (`pana_kit.crypto.sealing_at_startup`),
# their fingerprints keyed.
SEALED_AT_REST = (SealTarget(
    BirthRequestRow.__table__, "id", what="birth request(s)",
    also=lambda doc, keyring: {"fingerprint": keyed_fingerprint(keyring, BirthRequest.from_document(doc))}),)


async def upgrade_sealed(session) -> int:
    """Seal the birth requests of `SEALED_AT_REST` stored before sealing; idempotent. Returns how many."""
    return sum((await seal_unsealed(session, *SEALED_AT_REST)).values())


class BirthRequests:
    """`client` is whose idempotency keys new requests are stored under (registration or an API client)."""

    def __init__(self, session, *, client: str | None = None):
        self.session = session
        self.client = client

    async def load(self, request_id: str) -> tuple[BirthRequest, int]:
        row = await self.session.get(BirthRequestRow, request_id, populate_existing=True)
        if row is None:
            raise NotFound(f"no birth request {request_id}")
        return BirthRequest.from_document(row.document), row.version

    async def find(self, request_id: str) -> BirthRequest | None:
        row = await self.session.get(BirthRequestRow, request_id)
        return BirthRequest.from_document(row.document) if row is not None else None

    def fingerprint(self, request: BirthRequest) -> str:
        """The stored form of what `request` asks (compare with what `by_key` gives)."""
        return keyed_fingerprint(keyring_of(self.session), request)

    async def by_key(self, client: str, idempotency_key: str) -> tuple[BirthRequest, str] | None:
        """The request `client` stored under this key, with the (keyed) fingerprint of what was asked then."""
        stmt = select(BirthRequestRow).where(BirthRequestRow.client == client,
                                             BirthRequestRow.idempotency_key == idempotency_key)
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        return (BirthRequest.from_document(row.document), row.fingerprint) if row is not None else None

    async def add(self, request: BirthRequest) -> int:
        if self.client is None:
            raise ValueError("a new request is stored for a client")
        self.session.add(BirthRequestRow(
            id=request.request_id, client=self.client, idempotency_key=request.idempotency_key,
            fingerprint=self.fingerprint(request), kind=request.kind, version=1, created_at=_now(), **_columns(request)))
        return 1

    async def save(self, request: BirthRequest, expected_version: int) -> int:
        """Write the new state if nobody else did in between (optimistic concurrency)."""
        result = await self.session.execute(
            update(BirthRequestRow)
            .where(BirthRequestRow.id == request.request_id, BirthRequestRow.version == expected_version)
            .values(version=expected_version + 1, **_columns(request))
        )
        if result.rowcount != 1:
            raise StaleVersion(f"birth request {request.request_id} changed meanwhile")
        return expected_version + 1

    async def page(self, *, child_person_id: str | None, status: str | None, kind: str | None,
                   cursor: dict | None, limit: int) -> Page[BirthRequest]:
        """Requests matching the filters, oldest first, one page."""
        filters = [(BirthRequestRow.person_id, child_person_id), (BirthRequestRow.status, status),
                   (BirthRequestRow.kind, kind)]
        stmt = select(BirthRequestRow).where(*(column == value for column, value in filters if value))
        rows = await _BY_CREATION.page(self.session, stmt, cursor=cursor, limit=limit)
        return Page([BirthRequest.from_document(row.document) for row in rows.items], rows.next_cursor)

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of requests owing a registry call that may be made now, the longest-waiting first."""
        stmt = (select(BirthRequestRow.id)
                .where(BirthRequestRow.status.in_(DUE_STATES),
                       or_(BirthRequestRow.next_attempt_at.is_(None), BirthRequestRow.next_attempt_at <= now))
                .order_by(BirthRequestRow.next_attempt_at, BirthRequestRow.id).limit(limit))
        return list((await self.session.execute(stmt)).scalars())

    async def quiet_since(self, before: datetime, limit: int) -> list[str]:
        """Active requests not updated since `before` (candidates for the reconciler)."""
        stmt = (select(BirthRequestRow.id)
                .where(BirthRequestRow.status.in_(sorted(ACTIVE_STATES)), BirthRequestRow.updated_at <= before)
                .order_by(BirthRequestRow.updated_at).limit(limit))
        return list((await self.session.execute(stmt)).scalars())


def _columns(request: BirthRequest) -> dict:
    return dict(
        status=request.state,
        person_id=request.person_id,
        submission_id=request.submission_id,
        next_attempt_at=request.next_attempt_at,
        document=request.to_document(),
        updated_at=request.updated_at or _now(),
    )
