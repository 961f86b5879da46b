"""The registry's own store: birth records, persons by IIN, submissions. In memory."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from .data import KZ_TZ, ONLINE_OFFICE, Generator
from .models import (
    BirthRecord,
    BirthRecordIn,
    BirthRecordSearch,
    BirthRegistrationRequest,
    Child,
    Parent,
    Person,
    Place,
    Rejection,
    Submission,
)


def fold(value: str | None) -> str:
    return " ".join((value or "").split()).casefold()


def now_kz() -> datetime:
    return datetime.now(KZ_TZ).replace(microsecond=0)


class Conflict(Exception):
    pass


@dataclass
class SubmissionEntry:
    submission: Submission
    request: BirthRegistrationRequest
    fingerprint: str
    idempotency_key: str | None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class RegistryStore:
    def __init__(self, seed: int):
        self.lock = asyncio.Lock()
        self.records: dict[str, BirthRecord] = {}
        self.by_mbc: dict[str, str] = {}
        self.persons: dict[str, Person] = {}
        self.by_child_key: dict[tuple[str, str, date], list[str]] = {}
        self.submissions: dict[str, SubmissionEntry] = {}
        self.by_idempotency_key: dict[str, str] = {}
        self.gen = Generator(
            random.Random(seed),
            iin_taken=lambda v: v in self.persons,
            mbc_taken=lambda v: v in self.by_mbc,
            cert_taken=lambda v: v in self.records,
        )

    # --- seeding and indexing (callers hold the lock, or run before serving) -----------

    def seed(self, count: int) -> None:
        mothers: list[Parent] = []
        for _ in range(count):
            record = self.gen.record(mothers[-200:])
            self._index(record)
            mothers.append(record.mother)

    def _index(self, record: BirthRecord) -> None:
        self.records[record.certificate_number] = record
        self.by_mbc[record.medical_birth_certificate_number] = record.certificate_number
        c = record.child
        self.by_child_key.setdefault((fold(c.surname), fold(c.given_name), c.birth_date), []).append(
            record.certificate_number
        )
        self.persons[c.iin] = Person(
            iin=c.iin, surname=c.surname, given_name=c.given_name, patronymic=c.patronymic,
            birth_date=c.birth_date, sex=c.sex, birth_certificate_number=record.certificate_number,
        )
        for parent, sex in ((record.mother, "female"), (record.father, "male")):
            if parent is None or parent.iin is None or parent.iin in self.persons:
                continue
            self.persons[parent.iin] = Person(
                iin=parent.iin, surname=parent.surname, given_name=parent.given_name,
                patronymic=parent.patronymic, birth_date=parent.birth_date, sex=sex,
                nationality=parent.nationality, residence=parent.residence,
            )

    # --- reads ----------------------------------------------------------------------

    async def person(self, iin: str) -> Person | None:
        async with self.lock:
            return self.persons.get(iin)

    async def record(self, certificate_number: str) -> BirthRecord | None:
        async with self.lock:
            return self.records.get(" ".join(certificate_number.split()).upper())

    async def search(self, q: BirthRecordSearch) -> list[BirthRecord]:
        async with self.lock:
            certs = self.by_child_key.get((fold(q.child.surname), fold(q.child.given_name), q.child.birth_date), [])
            out = []
            for cert in certs:
                r = self.records[cert]
                m = q.mother
                if m.surname is not None and (
                    fold(m.surname) != fold(r.mother.surname) or fold(m.given_name) != fold(r.mother.given_name)
                ):
                    continue
                if m.birth_date is not None and m.birth_date != r.mother.birth_date:
                    continue
                out.append(r)
            return out

    async def count(self) -> int:
        async with self.lock:
            return len(self.records)

    # --- writes ---------------------------------------------------------------------

    async def add_record(self, body: BirthRecordIn) -> BirthRecord:
        async with self.lock:
            c = body.child
            if body.certificate_number and " ".join(body.certificate_number.split()).upper() in self.records:
                raise Conflict(f"certificate number {body.certificate_number} already exists")
            mbc = body.medical_birth_certificate_number
            if mbc and mbc in self.by_mbc:
                raise Conflict(f"medical birth certificate {mbc} is already registered")
            if c.iin and c.iin in self.persons:
                raise Conflict(f"IIN {c.iin} already belongs to someone")
            record = BirthRecord(
                certificate_number=" ".join(body.certificate_number.split()).upper()
                if body.certificate_number else self.gen.certificate_number(),
                registered_at=body.registered_at or now_kz(),
                registry_office=body.registry_office or ONLINE_OFFICE,
                medical_birth_certificate_number=mbc or self.gen.medical_certificate_number(c.birth_date, "TST"),
                child=Child(
                    iin=c.iin or self.gen.iin(c.birth_date, c.sex),
                    surname=c.surname, given_name=c.given_name, patronymic=c.patronymic,
                    birth_date=c.birth_date, birth_time=c.birth_time,
                    place_of_birth=c.place_of_birth or Place(), sex=c.sex,
                ),
                mother=body.mother,
                father=body.father,
            )
            self._index(record)
            return record

    async def submit(
        self, request: BirthRegistrationRequest, idempotency_key: str | None
    ) -> tuple[SubmissionEntry, bool]:
        """Store a submission; returns (entry, created). Raises Conflict on a reused key."""
        fingerprint = hashlib.sha256(
            json.dumps(request.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()
        async with self.lock:
            if idempotency_key is not None and idempotency_key in self.by_idempotency_key:
                entry = self.submissions[self.by_idempotency_key[idempotency_key]]
                if entry.fingerprint != fingerprint:
                    raise Conflict("this Idempotency-Key was used with a different request body")
                return entry, False
            submission = Submission(
                submission_id=str(uuid.uuid4()),
                status="accepted",
                accepted_at=now_kz(),
                medical_birth_certificate_number=request.medical_birth_certificate_number,
            )
            entry = SubmissionEntry(submission, request, fingerprint, idempotency_key)
            self.submissions[submission.submission_id] = entry
            if idempotency_key is not None:
                self.by_idempotency_key[idempotency_key] = submission.submission_id
            return entry, True

    async def submission(self, submission_id: str) -> Submission | None:
        async with self.lock:
            entry = self.submissions.get(submission_id)
            return entry.submission if entry else None

    async def decide(self, submission_id: str, today: date) -> Submission:
        """Register or reject a pending submission (idempotent)."""
        async with self.lock:
            entry = self.submissions[submission_id]
            if entry.submission.status != "accepted":
                return entry.submission
            req = entry.request
            rejection = self._rejection(req, today)
            if rejection is not None:
                entry.submission = entry.submission.model_copy(
                    update={"status": "rejected", "completed_at": now_kz(), "rejection": rejection}
                )
            else:
                c = req.child
                record = BirthRecord(
                    certificate_number=self.gen.certificate_number(),
                    registered_at=now_kz(),
                    registry_office=ONLINE_OFFICE if req.registry_office_code is None else ONLINE_OFFICE.model_copy(
                        update={"code": req.registry_office_code, "name": f"Registry office {req.registry_office_code}",
                                "kind": "registry_office"}
                    ),
                    medical_birth_certificate_number=req.medical_birth_certificate_number,
                    child=Child(
                        iin=self.gen.iin(c.birth_date, c.sex),
                        surname=c.surname, given_name=c.given_name, patronymic=c.patronymic,
                        birth_date=c.birth_date, birth_time=c.birth_time,
                        place_of_birth=c.place_of_birth or Place(), sex=c.sex,
                    ),
                    mother=req.mother,
                    father=req.father,
                )
                self._index(record)
                entry.submission = entry.submission.model_copy(
                    update={"status": "registered", "completed_at": now_kz(),
                            "certificate_number": record.certificate_number, "child_iin": record.child.iin}
                )
            entry.done.set()
            return entry.submission

    def _rejection(self, req: BirthRegistrationRequest, today: date) -> Rejection | None:
        c = req.child
        if c.birth_date > today:
            return Rejection(code="child_birth_date_in_future",
                             message=f"child's birth date {c.birth_date} is after today ({today})")
        if req.mother.birth_date is not None and c.birth_date <= req.mother.birth_date:
            return Rejection(code="child_born_before_mother",
                             message=f"child born {c.birth_date}, mother born {req.mother.birth_date}")
        if req.father is not None and req.father.birth_date is not None and c.birth_date <= req.father.birth_date:
            return Rejection(code="child_born_before_father",
                             message=f"child born {c.birth_date}, father born {req.father.birth_date}")
        existing = self.by_mbc.get(req.medical_birth_certificate_number)
        if existing is not None:
            return Rejection(
                code="duplicate_medical_birth_certificate",
                message=f"medical birth certificate {req.medical_birth_certificate_number} "
                        f"is already registered as {existing}",
            )
        return None
