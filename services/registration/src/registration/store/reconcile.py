"""What registration answers to the operator's `pana reconcile --domain` (read-only, system-wide).

Loaded through the `pana.reconcile` entry point; the kit's `pana_kit.domain_checks` asks each service
only about its own records and compares the answers, so no service reads another's database.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..domain import IssuedDocument
from pana_kit.domain import age_on

from ..domain.documents import DocumentState, IssuedDocumentKind
from ..settings import RegistrationSettings
from .tables import IssuedDocumentRow, PersonRow, ReferralRow

_CHUNK = 500


async def registered_referrals(session) -> dict[str, str]:
    """Border referrals registered as persons: referral id -> person id."""
    rows = await session.execute(select(ReferralRow.referral_id, ReferralRow.person_id)
                                 .where(ReferralRow.registered_at.is_not(None), ReferralRow.person_id.is_not(None)))
    return dict(rows.all())


async def lacking_certificates(session, kind: str, person_ids: list[str], on: date) -> dict[str, str]:
    """Of `person_ids`, those registration's rules give a `kind` certificate who hold no valid one
    (issued, not revoked, not expired on `on`): person id -> why. Persons registration does not know are
    listed too (nothing can be issued to them); children below a certificate's minimum age are not."""
    wanted = IssuedDocumentKind(kind)
    rules = RegistrationSettings().rules()
    out: dict[str, str] = {}
    ids = sorted(set(person_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        births = dict((await session.execute(select(PersonRow.person_id, PersonRow.birth_date)
                                             .where(PersonRow.person_id.in_(chunk)))).all())
        held: dict[str, list[IssuedDocument]] = {}
        for row in (await session.execute(select(IssuedDocumentRow).where(IssuedDocumentRow.holder_person_id.in_(chunk),
                                                                           IssuedDocumentRow.kind == wanted.value))).scalars():
            held.setdefault(row.holder_person_id, []).append(IssuedDocument.from_document(row.document))
        for person_id in chunk:
            if person_id not in births:
                out[person_id] = "not registered in registration"
                continue
            birth = births[person_id]
            if wanted is IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE and (
                    birth is None or age_on(birth, on) < rules.stateless_person_certificate_min_age):
                continue  # a child's comes at the minimum age; until then the determination is the proof
            documents = held.get(person_id, [])
            if any(d.state is DocumentState.ISSUED and d.expires_on >= on for d in documents):
                continue
            expired = [d for d in documents if d.state is DocumentState.ISSUED]
            out[person_id] = (f"{wanted.value} expired on {max(d.expires_on for d in expired)}" if expired
                              else f"no {wanted.value}" + (" (revoked)" if documents else ""))
    return out
