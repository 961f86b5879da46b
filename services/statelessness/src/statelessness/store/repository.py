"""Loading and saving cases, child flags, naturalization tracks and projections.

Every query of these tables goes through here. Evidence text and interview notes are
encrypted with the service's keyring (pana_kit.crypto; AES-GCM, key id in each value, the
case id as context) on the way in and decrypted on the way out.
"""

from __future__ import annotations

from datetime import datetime, timezone
from sqlalchemy import delete, select, update

from pana_kit.crypto import Keyring, is_token
from pana_kit.documents import from_document, to_document
from pana_kit.domain import NotFound
from pana_kit.errors import Problem

from ..domain import ChildAtRiskFlag, DeterminationCase, NaturalizationTrack
from ..domain.inquiry import normalise_state as normalise_state_code
from .tables import AsylumClaimRow, CaseRow, ChildFlagRow, InquiryRow, NaturalizationTrackRow, PersonRow

NO_NATIONALITY_CODES = frozenset({"XXA", "XXX"})


def _now() -> datetime:
    return datetime.now(timezone.utc)


# The personal free text of a case document: (list, field) pairs.
_ENCRYPTED_FIELDS = (("evidence", "description"), ("interviews", "notes"))


def _map_document(doc: dict, transform) -> dict:
    doc = dict(doc)
    ctx = doc["case_id"]  # the context of values already stored: changing it would leave them undecryptable
    for items, name in _ENCRYPTED_FIELDS:
        doc[items] = [{**item, name: transform(item.get(name, ""), ctx)} for item in doc.get(items, [])]
    return doc


def _seal_document(doc: dict, keyring: Keyring) -> dict:
    return _map_document(doc, lambda text, ctx: keyring.encrypt(text, context=ctx) if text else text)


def _open_document(doc: dict, keyring: Keyring) -> dict:
    # Earlier values may be `enc:v1:` tokens (the kit reads them) or, from before encryption, plain text.
    return _map_document(doc, lambda value, ctx: keyring.decrypt(value, context=ctx) if is_token(value) else value)


def case_from_row(row: CaseRow, keyring: Keyring) -> DeterminationCase:
    return from_document(DeterminationCase, _open_document(row.document, keyring))


def _case_columns(case: DeterminationCase, keyring: Keyring) -> dict:
    d = case.determination
    return dict(
        person_id=case.person_id, reason=case.reason.value, status=case.status.value, opened_on=case.opened_on,
        decision_due=case.decision_due, decided_on=d.decided_on if d else None, outcome=d.outcome.value if d else None,
        recognised_on=case.recognised_on, document=_seal_document(to_document(case), keyring),
    )


class Cases:
    def __init__(self, session, keyring: Keyring):
        self.session = session
        self.keyring = keyring

    async def get_row(self, case_id: str) -> CaseRow:
        row = await self.session.get(CaseRow, case_id)
        if row is None:
            raise NotFound(f"no case {case_id}")
        return row

    async def get(self, case_id: str) -> tuple[DeterminationCase, CaseRow]:
        row = await self.get_row(case_id)
        return case_from_row(row, self.keyring), row

    async def active_for_person(self, person_id: str) -> CaseRow | None:
        """A case still in the procedure (open, determined and appealable, or under appeal)."""
        stmt = select(CaseRow).where(CaseRow.person_id == person_id, CaseRow.status.in_(("open", "under_appeal"))).limit(1)
        return (await self.session.execute(stmt)).scalars().first()

    async def any_for_person(self, person_id: str) -> bool:
        stmt = select(CaseRow.id).where(CaseRow.person_id == person_id).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    def add(self, case: DeterminationCase, *, source_event_id: str | None = None) -> CaseRow:
        now = _now()
        row = CaseRow(id=case.case_id, version=1, source_event_id=source_event_id, created_at=now, updated_at=now,
                      **_case_columns(case, self.keyring))
        self.session.add(row)
        self._index_inquiries(case)
        return row

    async def save(self, case: DeterminationCase, expected_version: int) -> int:
        """Write the new state if nobody else did in between (optimistic concurrency)."""
        result = await self.session.execute(
            update(CaseRow).where(CaseRow.id == case.case_id, CaseRow.version == expected_version)
            .values(version=expected_version + 1, updated_at=_now(), **_case_columns(case, self.keyring))
        )
        if result.rowcount != 1:
            raise Problem(412, "the case changed since it was read; read it again and reapply your change")
        await self.session.execute(delete(InquiryRow).where(InquiryRow.case_id == case.case_id))
        self._index_inquiries(case)
        return expected_version + 1

    def _index_inquiries(self, case: DeterminationCase) -> None:
        for i in case.inquiries:
            self.session.add(InquiryRow(
                case_id=case.case_id, inquiry_id=i.inquiry_id, person_id=case.person_id, state=i.state[:3],
                link=i.link.value, status=i.status.value, answer=i.answer.value if i.answer else None,
                sent_on=i.sent_on, reply_due=i.reply_due, answered_on=i.answered_on,
            ))


class ChildFlags:
    def __init__(self, session):
        self.session = session

    async def get(self, flag_id: str) -> tuple[ChildAtRiskFlag, ChildFlagRow]:
        row = await self.session.get(ChildFlagRow, flag_id)
        if row is None:
            raise NotFound(f"no child-at-risk flag {flag_id}")
        return from_document(ChildAtRiskFlag, row.document), row

    async def open_for_child(self, child_person_id: str) -> ChildFlagRow | None:
        stmt = select(ChildFlagRow).where(ChildFlagRow.child_person_id == child_person_id, ChildFlagRow.status == "open")
        return (await self.session.execute(stmt.limit(1))).scalars().first()

    def add(self, flag: ChildAtRiskFlag) -> ChildFlagRow:
        now = _now()
        row = ChildFlagRow(id=flag.flag_id, child_person_id=flag.child_id, version=1, created_at=now, updated_at=now,
                           **_flag_columns(flag))
        self.session.add(row)
        return row

    async def save(self, flag: ChildAtRiskFlag, expected_version: int) -> int:
        result = await self.session.execute(
            update(ChildFlagRow).where(ChildFlagRow.id == flag.flag_id, ChildFlagRow.version == expected_version)
            .values(version=expected_version + 1, updated_at=_now(), **_flag_columns(flag))
        )
        if result.rowcount != 1:
            raise Problem(412, "the flag changed since it was read; read it again and reapply your change")
        return expected_version + 1


def _flag_columns(flag: ChildAtRiskFlag) -> dict:
    return dict(rule=flag.rule.value, status="open" if flag.open else "resolved", birth_date=flag.birth_date,
                flagged_on=flag.flagged_on, resolved_on=flag.resolved_on, document=to_document(flag))


class NaturalizationTracks:
    def __init__(self, session):
        self.session = session

    async def get(self, track_id: str) -> tuple[NaturalizationTrack, NaturalizationTrackRow]:
        row = await self.session.get(NaturalizationTrackRow, track_id)
        if row is None:
            raise NotFound(f"no naturalization track {track_id}")
        return from_document(NaturalizationTrack, row.document), row

    async def for_case(self, case_id: str) -> NaturalizationTrackRow | None:
        stmt = select(NaturalizationTrackRow).where(NaturalizationTrackRow.case_id == case_id)
        return (await self.session.execute(stmt)).scalars().first()

    def add(self, track: NaturalizationTrack) -> NaturalizationTrackRow:
        now = _now()
        row = NaturalizationTrackRow(id=track.track_id, case_id=track.case_id, version=1, created_at=now, updated_at=now,
                                     **_track_columns(track))
        self.session.add(row)
        return row

    async def save(self, track: NaturalizationTrack, expected_version: int) -> int:
        result = await self.session.execute(
            update(NaturalizationTrackRow)
            .where(NaturalizationTrackRow.id == track.track_id, NaturalizationTrackRow.version == expected_version)
            .values(version=expected_version + 1, updated_at=_now(), **_track_columns(track))
        )
        if result.rowcount != 1:
            raise Problem(412, "the track changed since it was read; read it again and reapply your change")
        return expected_version + 1


def _track_columns(track: NaturalizationTrack) -> dict:
    return dict(person_id=track.person_id, eligible_from=track.eligible_from,
                outcome=track.outcome.value if track.outcome else None, decided_on=track.decided_on,
                document=to_document(track))


class Persons:
    """The projection of registration's persons and rsd's asylum claims."""

    def __init__(self, session):
        self.session = session

    async def get(self, person_id: str) -> PersonRow | None:
        return await self.session.get(PersonRow, person_id)

    async def upsert(self, person_id: str, **values) -> PersonRow:
        row = await self.session.get(PersonRow, person_id)
        if row is None:
            row = PersonRow(person_id=person_id, updated_at=_now(), **values)
            self.session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = _now()
        return row

    async def record_claim(self, person_id: str, application_id: str, status: str, *, only_if_known: bool = False) -> None:
        row = await self.session.get(AsylumClaimRow, (person_id, application_id))
        if row is None:
            if only_if_known:
                return
            self.session.add(AsylumClaimRow(person_id=person_id, application_id=application_id, status=status,
                                            updated_at=_now()))
        else:
            row.status = status
            row.updated_at = _now()

    async def feared_states(self, person_id: str) -> set[str]:
        """States a person fears persecution from: for anyone who ever claimed asylum here, the
        country of origin and every citizenship in the projection. Kept after a rejection too:
        the State was told nothing then and must not learn of the claim now."""
        claims = (await self.session.execute(select(AsylumClaimRow).where(AsylumClaimRow.person_id == person_id))).scalars().all()
        if not claims:
            return set()
        person = await self.get(person_id)
        if person is None:
            return set()
        states = {normalise_state_code(c) for c in person.citizenship or []}
        if person.country_of_origin:
            states.add(normalise_state_code(person.country_of_origin))
        return states - NO_NATIONALITY_CODES

    @staticmethod
    def without_nationality(person: PersonRow | None) -> bool:
        if person is None:
            return False
        if person.citizenship_status in ("none", "undetermined"):
            return True
        return bool(person.citizenship) and all(c.upper() in NO_NATIONALITY_CODES for c in person.citizenship)
