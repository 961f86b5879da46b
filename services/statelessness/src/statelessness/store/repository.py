"""Loading and saving cases, child flags, naturalization tracks and projections.

Every query of these tables goes through here. Each aggregate is a row: the columns its
queries need plus its document (pana_kit.documents), and a version for optimistic
concurrency. Evidence text and interview notes are encrypted with the service's keyring
(pana_kit.crypto; AES-GCM, key id in each value, bound to service, case and field) on the way in
and decrypted on the way out; plain text where a ciphertext belongs is refused.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from pana_kit.counters import changes_to_json
from pana_kit.crypto import DecryptionError, Keyring, SealTarget, is_token, seal_unsealed
from pana_kit.documents import from_document, to_document
from pana_kit.domain import NotFound, StaleVersion
from pana_kit.paging import Key, Keyset, Page, by_creation

from ..domain import ChildAtRiskFlag, DeterminationCase, NaturalizationTrack
from ..domain.inquiry import normalise_state as normalise_state_code
from .summary import Summary, changes_of, inquiry_facts
from .tables import IN_PROCEDURE_STATES, ONE_CASE_INDEX, AsylumClaimRow, CaseRow, ChildFlagRow, InquiryRow, NaturalizationTrackRow, PersonRow

NO_NATIONALITY_CODES = frozenset({"XXA", "XXX"})


def _now() -> datetime:
    return datetime.now(timezone.utc)


# The personal text of a case document. Each value is sealed with the context
# `statelessness:case:<case id>:<field>` (pana_kit.crypto.field_context), the field naming its place in the
# case: `reason_note`, `evidence/<evidence id>/source`, `evidence/<evidence id>/description`,
# `interviews/<n>/notes`. A value moved to another field, item or case does not decrypt.
SEALED = 2  # document["sealed"]: the version of the sealing the document's values carry
SERVICE = "statelessness"


def _places(doc: dict):
    """(container, key, field name) of every sealed value of a case document."""
    yield doc, "reason_note", "reason_note"
    for item in doc.get("evidence", []):
        for name in ("source", "description"):
            yield item, name, f"evidence/{item.get('evidence_id', '')}/{name}"
    for n, item in enumerate(doc.get("interviews", [])):
        yield item, "notes", f"interviews/{n}/notes"


def _copy(doc: dict) -> dict:
    doc = dict(doc)
    for items in ("evidence", "interviews"):
        doc[items] = [dict(item) for item in doc.get(items, [])]
    return doc


def _seal_document(doc: dict, keyring: Keyring) -> dict:
    """Every sealed field encrypted (empty text too: a blanked value would otherwise pass unnoticed)."""
    doc = _copy(doc)
    for container, key, name in _places(doc):
        if key in container:
            container[key] = keyring.encrypt_field(container.get(key) or "", service=SERVICE, aggregate="case",
                                                   aggregate_id=doc["case_id"], field=name)
    doc["sealed"] = SEALED
    return doc


def _open_sealed_document(doc: dict, keyring: Keyring) -> dict:
    """The case's plaintext. A ciphertext is required in every sealed field: plain text, a value from another
    place, or a document not yet upgraded (`upgrade_sealed_cases`) is refused (DecryptionError)."""
    if doc.get("sealed") != SEALED:
        raise DecryptionError(f"case {doc.get('case_id')} is not sealed with field-bound encryption (upgrade it)")
    doc = _copy(doc)
    doc.pop("sealed")
    for container, key, name in _places(doc):
        if key in container:
            container[key] = keyring.decrypt_field(container[key], service=SERVICE, aggregate="case",
                                                   aggregate_id=doc["case_id"], field=name)
    return doc


def _open_document(doc: dict, keyring: Keyring) -> dict:
    """A document as stored by any version: sealed (field-bound), or earlier: values bound to the case id only
    (`v1.` or the older `enc:v1:` tokens) or plain text. Only the upgrade reads this way."""
    if doc.get("sealed") == SEALED:
        return _open_sealed_document(doc, keyring)
    doc = _copy(doc)
    ctx = doc["case_id"]  # the context earlier values were sealed with
    for container, key, _ in _places(doc):
        value = container.get(key)
        if value and is_token(value):
            container[key] = keyring.decrypt(value, context=ctx)
    return doc


# Cases written before field-bound encryption (reason note and evidence source were plain, values bound to the case
# only): re-sealed at start-up, before serving (`pana_kit.crypto.sealing_at_startup`); the read path refuses a case
# not yet upgraded.
SEALED_AT_REST = (SealTarget(CaseRow.__table__, "id", what="case(s)",
                             is_sealed=lambda doc: doc.get("sealed") == SEALED,
                             seal=lambda doc, keyring: _seal_document(_open_document(doc, keyring), keyring)),)


async def upgrade_sealed_cases(session, keyring: Keyring) -> int:
    """Re-seal every case document of `SEALED_AT_REST` written before field-bound sealing; idempotent (an upgraded
    document is skipped without decrypting). Returns how many were upgraded."""
    return sum((await seal_unsealed(session, *SEALED_AT_REST, keyring=keyring)).values())


def case_index(case: DeterminationCase) -> dict[str, Any]:
    """The columns a case is listed and counted by."""
    d = case.determination
    return dict(
        person_id=case.person_id, reason=case.reason.value, status=case.status.value, opened_on=case.opened_on,
        decision_due=case.decision_due, decided_on=d.decided_on if d else None, outcome=d.outcome.value if d else None,
        recognised_on=case.recognised_on,
    )


def _case_columns(case: DeterminationCase, keyring: Keyring) -> dict:
    return dict(**case_index(case), document=_seal_document(to_document(case), keyring))


def _flag_columns(flag: ChildAtRiskFlag) -> dict:
    return dict(child_person_id=flag.child_id, rule=flag.rule.value, status="open" if flag.open else "resolved",
                birth_date=flag.birth_date, flagged_on=flag.flagged_on, resolved_on=flag.resolved_on,
                document=to_document(flag))


def _track_columns(track: NaturalizationTrack) -> dict:
    return dict(case_id=track.case_id, person_id=track.person_id, eligible_from=track.eligible_from,
                outcome=track.outcome.value if track.outcome else None, decided_on=track.decided_on,
                document=to_document(track))


def _where_given(stmt, *conditions):
    """`stmt` narrowed to rows whose column equals each value given (a filter left out matches all)."""
    for column, value in conditions:
        if value:
            stmt = stmt.where(column == value)
    return stmt


class _Versioned:
    """Aggregates of one type as rows: `id`, `version`, the columns queries need and the document."""

    row_type: Any
    aggregate_type: Any
    id_field: str  # the aggregate's id attribute, the row's `id`
    called: str  # how a missing one is named ("no case x")
    short: str  # how a stale one is named ("the case changed ...")

    def __init__(self, session):
        self.session = session

    def _aggregate(self, row):
        return from_document(self.aggregate_type, row.document)

    def _columns(self, aggregate) -> dict[str, Any]:
        raise NotImplementedError

    async def load(self, aggregate_id: str):
        row = await self.session.get(self.row_type, aggregate_id)
        if row is None:
            raise NotFound(f"no {self.called} {aggregate_id}")
        return self._aggregate(row), row.version

    async def find(self, aggregate_id: str):
        """Like `load`, None when there is none (for reads that audit a miss)."""
        row = await self.session.get(self.row_type, aggregate_id)
        return (self._aggregate(row), row.version) if row is not None else None

    def _inquiries(self, aggregate) -> list:
        return []

    async def add(self, aggregate, **extra) -> int:
        now = _now()
        columns = self._columns(aggregate)
        changes = changes_of(self.row_type, columns, self._inquiries(aggregate))
        row_id = getattr(aggregate, self.id_field)
        self.session.add(self.row_type(id=row_id, version=1, created_at=now, updated_at=now,
                                       tally=changes_to_json(changes), **columns, **extra))
        await self._counted(row_id, None, changes, aggregate)
        return 1

    async def save(self, aggregate, expected_version: int) -> int:
        """Write the new state if nobody else did in between (optimistic concurrency); the statistics' summary moves
        by the difference with what was counted (read before the versioned update: a save in between makes the
        update find no row, and all of this rolls back)."""
        row = self.row_type
        row_id = getattr(aggregate, self.id_field)
        columns = self._columns(aggregate)
        summary = Summary(self.session)
        before, after = await summary.counted(row, row_id), changes_of(row, columns, self._inquiries(aggregate))
        result = await self.session.execute(
            update(row).where(row.id == row_id, row.version == expected_version)
            .values(version=expected_version + 1, updated_at=_now(), tally=changes_to_json(after), **columns)
        )
        if result.rowcount != 1:
            raise StaleVersion(f"the {self.short} changed since it was read; read it again and reapply your change")
        await self._counted(row_id, before, after, aggregate)
        return expected_version + 1

    async def _counted(self, row_id: str, before, after, aggregate) -> None:
        summary = Summary(self.session)
        if before != after:
            await summary.move(row_id, before, after)
        if self.row_type is not ChildFlagRow:  # cases and tracks decide who is counted as stateless
            await summary.person_changed(aggregate.person_id)


class PersonInProcedure(IntegrityError):
    """The person already has a case in the procedure: another opening committed between the check and the insert
    (the partial unique index ONE_CASE_INDEX refused this one). The transaction is spoiled: an HTTP request answers
    409; a consumed event is handled again in a new transaction (pana_kit.consumer retries an IntegrityError), which
    finds the case and opens nothing."""


def _one_case_conflict(exc: IntegrityError) -> bool:
    message = str(exc.orig)
    return ONE_CASE_INDEX in message or "cases.person_id" in message  # PostgreSQL names the index; SQLite the column


class Cases(_Versioned):
    row_type, aggregate_type, id_field, called, short = CaseRow, DeterminationCase, "case_id", "case", "case"

    def __init__(self, session, keyring: Keyring, *, source_event_id: str | None = None):
        super().__init__(session)
        self.keyring = keyring
        self.source_event_id = source_event_id  # the consumed event cases added here are opened on

    def _aggregate(self, row: CaseRow) -> DeterminationCase:
        return DeterminationCase.from_document(_open_sealed_document(row.document, self.keyring))

    def _columns(self, case: DeterminationCase) -> dict[str, Any]:
        return _case_columns(case, self.keyring)

    def _inquiries(self, case: DeterminationCase) -> list:
        return inquiry_facts(case)

    async def add(self, case: DeterminationCase) -> int:
        try:
            # The insert reaches the database here (the statistics' summary reads autoflush it, or this flush): a
            # second case in the procedure is refused here (PersonInProcedure).
            version = await super().add(case, source_event_id=self.source_event_id)
            await self.session.flush()
        except IntegrityError as exc:
            if _one_case_conflict(exc):
                raise PersonInProcedure(exc.statement, exc.params, exc.orig) from None
            raise
        self._index_inquiries(case)
        return version

    async def save(self, case: DeterminationCase, expected_version: int) -> int:
        version = await super().save(case, expected_version)
        await self.session.execute(delete(InquiryRow).where(InquiryRow.case_id == case.case_id))
        self._index_inquiries(case)
        return version

    def _index_inquiries(self, case: DeterminationCase) -> None:
        for i in case.inquiries:
            self.session.add(InquiryRow(
                case_id=case.case_id, inquiry_id=i.inquiry_id, person_id=case.person_id, state=i.state[:3],
                link=i.link.value, status=i.status.value, answer=i.answer.value if i.answer else None,
                sent_on=i.sent_on, reply_due=i.reply_due, answered_on=i.answered_on,
            ))

    async def in_procedure(self, person_id: str) -> bool:
        """Whether the person has a case still in the procedure (open, or under appeal)."""
        stmt = select(CaseRow.id).where(CaseRow.person_id == person_id, CaseRow.status.in_(IN_PROCEDURE_STATES))
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def any_for_person(self, person_id: str) -> bool:
        stmt = select(CaseRow.id).where(CaseRow.person_id == person_id).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def ids_for_person(self, person_id: str, *, in_procedure: bool | None = None) -> list[str]:
        """The person's cases; only those in the procedure (open, under appeal), or only the others."""
        stmt = select(CaseRow.id).where(CaseRow.person_id == person_id)
        if in_procedure is not None:
            live = CaseRow.status.in_(IN_PROCEDURE_STATES)
            stmt = stmt.where(live if in_procedure else ~live)
        return list((await self.session.execute(stmt.order_by(CaseRow.id))).scalars())

    async def page(self, *, person_id: str | None, status: str | None, reason: str | None, cursor: dict | None,
                   limit: int) -> Page[CaseRow]:
        stmt = _where_given(select(CaseRow), (CaseRow.person_id, person_id), (CaseRow.status, status),
                            (CaseRow.reason, reason))
        return await by_creation(CaseRow).page(self.session, stmt, cursor=cursor, limit=limit)

    # Oldest deadline first; the cursor keys are the ones clients already hold.
    OVERDUE = Keyset(Key("due", InquiryRow.reply_due), Key("case", InquiryRow.case_id), Key("inq", InquiryRow.inquiry_id))

    async def overdue_inquiries(self, *, today: date, state: str | None, cursor: dict | None,
                                limit: int) -> Page[InquiryRow]:
        """Inquiries still awaiting a reply after their deadline."""
        stmt = _where_given(select(InquiryRow).where(InquiryRow.status == "sent", InquiryRow.reply_due < today),
                            (InquiryRow.state, state))
        return await self.OVERDUE.page(self.session, stmt, cursor=cursor, limit=limit)


class ChildFlags(_Versioned):
    row_type, aggregate_type, id_field = ChildFlagRow, ChildAtRiskFlag, "flag_id"
    called, short = "child-at-risk flag", "flag"
    _columns = staticmethod(_flag_columns)

    async def open_for_child(self, child_person_id: str) -> bool:
        stmt = select(ChildFlagRow.id).where(ChildFlagRow.child_person_id == child_person_id, ChildFlagRow.status == "open")
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def ids_for_child(self, child_person_id: str) -> list[str]:
        stmt = select(ChildFlagRow.id).where(ChildFlagRow.child_person_id == child_person_id)
        return list((await self.session.execute(stmt)).scalars())

    async def page(self, *, child_person_id: str | None, open: bool | None, rule: str | None, cursor: dict | None,
                   limit: int) -> Page[ChildAtRiskFlag]:
        status = None if open is None else "open" if open else "resolved"
        stmt = _where_given(select(ChildFlagRow), (ChildFlagRow.child_person_id, child_person_id),
                            (ChildFlagRow.status, status), (ChildFlagRow.rule, rule))
        page = await by_creation(ChildFlagRow).page(self.session, stmt, cursor=cursor, limit=limit)
        return Page([self._aggregate(row) for row in page.items], page.next_cursor)


class NaturalizationTracks(_Versioned):
    row_type, aggregate_type, id_field = NaturalizationTrackRow, NaturalizationTrack, "track_id"
    called, short = "naturalization track", "track"
    _columns = staticmethod(_track_columns)

    async def for_case(self, case_id: str) -> bool:
        stmt = select(NaturalizationTrackRow.id).where(NaturalizationTrackRow.case_id == case_id)
        return (await self.session.execute(stmt.limit(1))).first() is not None

    ELIGIBLE = Keyset(Key("eligible_from", NaturalizationTrackRow.eligible_from), Key("id", NaturalizationTrackRow.id))

    async def eligible(self, *, now: bool, today: date, horizon_days: int, cursor: dict | None,
                       limit: int) -> Page[NaturalizationTrack]:
        """Undecided tracks eligible by `today` (now), or after it within the horizon (soon); earliest first."""
        T = NaturalizationTrackRow
        stmt = select(T).where(T.outcome.is_(None))
        if now:
            stmt = stmt.where(T.eligible_from <= today)
        else:
            stmt = stmt.where(T.eligible_from > today, T.eligible_from <= today + timedelta(days=horizon_days))
        page = await self.ELIGIBLE.page(self.session, stmt, cursor=cursor, limit=limit)
        return Page([self._aggregate(row) for row in page.items], page.next_cursor)


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
        if {"sex", "birth_date"} & set(values):  # a stateless person is counted by sex and age
            await Summary(self.session).person_changed(person_id)
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

    async def merged(self, merged_person_id: str, surviving_person_id: str) -> None:
        """The merged record lives on as the surviving one: noted in the projection, claims moved over."""
        old, new = merged_person_id, surviving_person_id
        if await self.get(old) is not None:
            await self.upsert(old, merged_into=new)
        claims = (await self.session.execute(select(AsylumClaimRow).where(AsylumClaimRow.person_id == old))).scalars().all()
        for claim in claims:
            await self.record_claim(new, claim.application_id, claim.status)
        await self.session.execute(update(AsylumClaimRow).where(AsylumClaimRow.person_id == old).values(status="merged"))

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


def sealed_places():
    """Where statelessness keeps sealed values (`pana keys reencrypt`; entry point `pana.sealed`): the case
    documents' personal text (a document not yet upgraded is left to the start-up upgrade)."""
    from pana_kit.crypto import Sealed
    from pana_kit.rekey import SealedPlace

    def key_ids(row) -> set[str]:
        doc = row["document"]
        if not isinstance(doc, dict) or doc.get("sealed") != SEALED:
            return set()
        return {Sealed.parse(container[key]).key_id for container, key, _ in _places(doc) if key in container}

    def reseal(row, keyring) -> dict:
        return {"document": _seal_document(_open_sealed_document(row["document"], keyring), keyring)}

    return [SealedPlace("cases.document", CaseRow.__table__, "id", ("document",), key_ids, reseal)]
