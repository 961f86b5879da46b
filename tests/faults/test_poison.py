"""Poison messages mixed into every topic, hand-made and generated (hypothesis).

Every consumer group that reads a topic must send each poison it cannot use to
`<group>.dlq` with a `dlq_reason` header, exactly once, and keep its partition
moving: the valid events around the poison (same key, so same partition) are
all handled (they are in the group's inbox; referrals became applications).
A type nobody handles is skipped, not dead-lettered; a payload that breaks the
schema of a known type is dead-lettered only by the groups that handle that type
(the others skip it unread).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date

import pytest
from faultflow import (FAULT_EVENTS, applications_by_person, group_lag, lodged_event_ids_by_person,
                       lodged_events_once_published, referral_records)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support import produce, read_topic

from pana_events import Envelope, to_kafka
from pana_events.events import civil_registry as civil
from pana_events.events import rsd as rsd_events
from pana_events.events import statelessness as sl
from pana_events.topics import EVENT_TYPES, TOPIC_BY_NAME, TOPICS

pytestmark = pytest.mark.e2e

MARK = "x-fault-poison"
CE_REQUIRED = ("id", "source", "type", "specversion", "subject")
FUZZ_EVENTS = int(os.environ.get("PANA_FUZZ_EVENTS", "80"))


def handled_types() -> dict[str, set[str]]:
    """Consumer group -> event types it handles, from the services' own handler tables (each service
    has its own table metadata, so all four import into this one process)."""
    from civil_registry_bridge.handlers import BridgeHandlers
    from registration.handlers import RegistrationHandlers
    from rsd.handlers import RsdHandlers
    from statelessness.handlers import StatelessnessHandlers

    return {
        "registration": set(RegistrationHandlers(None).table()),
        "rsd": set(RsdHandlers(None, None).table()),
        "statelessness": set(StatelessnessHandlers(None, None, None).table()),
        "civil-registry-bridge": set(BridgeHandlers(None, None).table()),
    }


HANDLED = handled_types()


@dataclass
class Poison:
    id: str
    topic: str
    kind: str
    key: bytes | None
    headers: list[tuple[str, bytes]]
    value: bytes | None
    event_type: str | None = None  # for wrong-schema: the type whose schema it breaks

    @property
    def expected_groups(self) -> set[str]:
        readers = set(TOPIC_BY_NAME[self.topic].consumers)
        if self.kind == "unknown-type":
            return set()
        if self.kind == "wrong-schema":
            return {g for g in readers if self.event_type in HANDLED[g]}
        return readers

    def record(self, key: bytes | None = None):
        return (self.key if self.key is not None else key), [*self.headers, (MARK, self.id.encode())], self.value


def ce_headers(topic: str, event_type: str, subject: str) -> list[tuple[str, bytes]]:
    """Valid CloudEvents headers as the topic's producer writes them (a foreign source is refused on its own)."""
    _, hdrs, _ = to_kafka(Envelope(source=producer_source(topic), type=event_type, subject=subject, data={}))
    return hdrs


def producer_source(topic: str) -> str:
    return f"/pana/{TOPIC_BY_NAME[topic].producer}"


def required_fields(event_type: str) -> list[str]:
    return [n for n, f in EVENT_TYPES[event_type].model_fields.items() if f.is_required()]


def handled_on(topic: str) -> list[str]:
    """Types on `topic` that at least one of its readers handles."""
    readers = TOPIC_BY_NAME[topic].consumers
    return sorted({e.event_type for e in TOPIC_BY_NAME[topic].events if any(e.event_type in HANDLED[g] for g in readers)})


# -- valid events around the poison ------------------------------------------------


@dataclass
class Valid:
    topic: str
    event_id: str
    event_type: str
    key: bytes
    records: list
    referral_person: str | None = None


def valid_events(n_referrals: int, n_each: int) -> list[Valid]:
    out: list[Valid] = []
    tag = uuid.uuid4().hex[:6]
    for i in range(n_referrals):
        person = str(uuid.uuid4())
        records = referral_records(person, tag=tag, i=i)
        referral_id = dict(records[1][1])["ce_id"].decode()
        out.append(Valid("registration.events", referral_id, "registration.referral.registered.v1", person.encode(),
                         records, referral_person=person))
    today = date.today()
    for _ in range(n_each):
        person = str(uuid.uuid4())
        for topic, event in (
            ("statelessness.events", sl.CaseOpened(case_id=str(uuid.uuid4()), person_id=person, reason="child_at_risk",
                                                   ex_officio=True, opened_on=today)),
            ("civil-registry.events", civil.BirthRegistered(request_id=str(uuid.uuid4()), child_person_id=person,
                                                            certificate_number=f"I-АЛ {uuid.uuid4().hex[:6]}")),
            ("rsd.events", rsd_events.ApplicationLodged(application_id=str(uuid.uuid4()), person_id=person,
                                                        lodged_on=today, registered_on=today, decision_due=today)),
        ):
            env = Envelope(source=producer_source(topic), type=event.event_type, subject=person, data=event.model_dump(mode="json"))
            out.append(Valid(topic, env.id, env.type, person.encode(), [to_kafka(env)]))
    return out


# -- hand-made poison: every kind on every topic -----------------------------------


def hand_made_poison() -> list[Poison]:
    out: list[Poison] = []
    for topic in TOPIC_BY_NAME:
        some_type = handled_on(topic)[0]

        def p(kind, headers, value, event_type=None):
            out.append(Poison(str(uuid.uuid4()), topic, kind, None, headers, value, event_type))

        subject = str(uuid.uuid4())
        p("not-json", ce_headers(topic, some_type, subject), b"{this is not json")
        p("not-object", ce_headers(topic, some_type, subject), b"[1, 2, 3]")
        p("empty", ce_headers(topic, some_type, subject), None)
        p("missing-headers", [h for h in ce_headers(topic, some_type, subject) if h[0] in ("ce_id", "ce_source")], b"{}")
        p("bad-specversion", [(k, b"0.3" if k == "ce_specversion" else v) for k, v in ce_headers(topic, some_type, subject)], b"{}")
        p("unknown-type", ce_headers(topic, f"{topic.split('.')[0]}.something.new.v9", subject), b'{"x": 1}')
        for event_type in handled_on(topic):
            field = required_fields(event_type)[0]
            p("wrong-schema", ce_headers(topic, event_type, subject), json.dumps({field: {"not": ["a", "scalar"]}}).encode(),
              event_type)
    return out


# -- generated poison ----------------------------------------------------------------


def _not_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return True
    return False


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return True
    return False


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
_json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
                           lambda kids: st.lists(kids, max_size=4) | st.dictionaries(_text, kids, max_size=4), max_leaves=10)


KINDS = ("not-json", "not-object", "empty", "missing-headers", "bad-specversion", "bad-utf8-header", "bad-attribute",
         "wrong-schema", "unknown-type")


@st.composite
def malformed_event(draw, kind: str) -> Poison:
    topic = draw(st.sampled_from(sorted(TOPIC_BY_NAME)))
    event_type = draw(st.sampled_from([e.event_type for e in TOPIC_BY_NAME[topic].events]))
    subject = str(draw(st.uuids()))
    headers = ce_headers(topic, event_type, subject)
    value: bytes | None = json.dumps(draw(st.dictionaries(_text, _json_value, max_size=5))).encode()
    poison_type = None
    if kind == "not-json":
        value = draw(st.binary(min_size=1, max_size=300).filter(_not_json)
                     | _text.map(lambda s: ("{" + s).encode()).filter(_not_json))
    elif kind == "not-object":
        value = json.dumps(draw(st.lists(_json_value, max_size=5) | st.integers() | _text | st.none() | st.booleans())).encode()
    elif kind == "empty":
        value = None
    elif kind == "missing-headers":
        gone = draw(st.sets(st.sampled_from(CE_REQUIRED), min_size=1))
        blank = draw(st.booleans())
        headers = [(k, b"") if blank and k[3:] in gone else (k, v) for k, v in headers if blank or k[3:] not in gone]
    elif kind == "bad-specversion":
        version = draw(_text.filter(lambda s: s not in ("1.0", "")))
        headers = [(k, version.encode() if k == "ce_specversion" else v) for k, v in headers]
    elif kind == "bad-utf8-header":
        name = draw(st.sampled_from([k for k, _ in headers if k.startswith("ce_")]))
        raw = draw(st.binary(min_size=1, max_size=40).filter(_not_utf8))
        headers = [(k, raw if k == name else v) for k, v in headers]
    elif kind == "bad-attribute":
        which = draw(st.sampled_from(["id", "time"]))
        bad = ("x" * draw(st.integers(201, 400))) if which == "id" else draw(st.text(alphabet="abcxyz-", min_size=1, max_size=20))
        headers = [(k, bad.encode() if k == f"ce_{which}" else v) for k, v in headers]
    elif kind == "wrong-schema":
        poison_type = draw(st.sampled_from(handled_on(topic)))
        headers = ce_headers(topic, poison_type, subject)
        payload = draw(st.dictionaries(_text, _json_value, max_size=4))
        field = draw(st.sampled_from(required_fields(poison_type)))
        if draw(st.booleans()):
            payload[field] = draw(st.dictionaries(_text, _json_value, min_size=1, max_size=3))  # no field takes an object
        else:
            payload.pop(field, None)
        value = json.dumps(payload).encode()
    elif kind == "unknown-type":
        name = draw(st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}", fullmatch=True))
        # a newer producer's type: in the topic's namespace, unknown to the contract (another namespace is refused)
        namespace = TOPIC_BY_NAME[topic].events[0].event_type.split(".")[0]
        headers = ce_headers(topic, f"{namespace}.fuzz.{name}.v9", subject)
    key = draw(st.none() | st.binary(max_size=40))
    return Poison(str(uuid.uuid4()), topic, kind, key, headers, value, poison_type)


# -- sending and checking -----------------------------------------------------------


def send_mixed(bootstrap: str, poisons: list[Poison], valids: list[Valid]) -> None:
    """Per topic, valid events and poison interleaved; poison without a key of its own takes the next valid event's key."""
    for topic in TOPIC_BY_NAME:
        ps = [p for p in poisons if p.topic == topic]
        vs = [v for v in valids if v.topic == topic]
        records = []
        # Poison spread evenly through the stream, not bunched at its start.
        every = max(1, len(vs) // max(len(ps), 1))
        queue = list(ps)
        for i, v in enumerate(vs):
            records.extend(v.records)
            if queue and i % every == 0:
                records.append(queue.pop(0).record(vs[(i + 1) % len(vs)].key))
        records.extend(p.record(str(uuid.uuid4()).encode()) for p in queue)
        produce(bootstrap, topic, records)


def dead_letters(bootstrap: str, ids: set[str]) -> list[tuple[str, str, dict]]:
    """(group, poison id, headers) of every dead letter of ours in every group's dlq."""
    out = []
    for group in HANDLED:
        for record in read_topic(bootstrap, f"{group}.dlq"):
            hdrs = dict(record.headers or ())
            mark = hdrs.get(MARK, b"").decode()
            if mark in ids:
                out.append((group, mark, hdrs))
    return out


async def _inbox(dsn: str, group: str, ids: list[str]) -> set[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT event_id FROM inbox WHERE consumer_group = $1 AND event_id = ANY($2::text[])", group, ids)
        return {r["event_id"] for r in rows}
    finally:
        await conn.close()


def check(stack, name: str, poisons: list[Poison], valids: list[Valid]) -> list:
    bootstrap = stack.kafka_bootstrap
    ids = {p.id for p in poisons}
    expected = {(g, p.id) for p in poisons for g in p.expected_groups}
    baseline = applications_by_person(stack.url("rsd"))
    sent_at = time.monotonic()
    send_mixed(bootstrap, poisons, valids)

    deadline = time.monotonic() + 240 + len(valids) / 5
    letters: list = []
    while time.monotonic() < deadline:
        letters = dead_letters(bootstrap, ids)
        if expected <= {(g, i) for g, i, _ in letters}:
            break
        time.sleep(2)
    # rsd publishes a lodged event from its outbox after storing the application, and registration and
    # statelessness handle it after that: wait until they are on rsd.events, so the lag below covers them
    # (else a relay slower than the check reads as an event those groups never handled).
    referral_persons = {v.referral_person for v in valids if v.referral_person}
    lodged_events_once_published(bootstrap, referral_persons, timeout=180 + len(valids) / 5)
    # Every group has read to the end of its topics: nothing more can arrive in a dlq.
    for group in HANDLED:
        topics = [t.name for t in TOPICS if group in t.consumers]
        deadline = time.monotonic() + 180 + len(valids) / 5
        while (lag := group_lag(bootstrap, group, topics)) != 0:
            assert time.monotonic() < deadline, f"{group} still has {lag} records to read"
            time.sleep(2)
    recover_s = time.monotonic() - sent_at
    letters = dead_letters(bootstrap, ids)
    got = Counter((g, i) for g, i, _ in letters)
    by_id = {p.id: p for p in poisons}
    missing = expected - set(got)
    unexpected = set(got) - expected
    duplicates = sum(c - 1 for c in got.values() if c > 1)
    no_reason = [(g, i) for g, i, h in letters if not h.get("dlq_reason")]
    wrong_origin = [(g, i) for g, i, h in letters
                    if h.get("dlq_topic", b"").decode() != by_id[i].topic or h.get("dlq_group", b"").decode() != g]

    # The valid events around the poison: handled by every group that handles their type, once.
    handled_missing = []
    for group, types in HANDLED.items():
        mine = [v for v in valids if v.event_type in types and group in TOPIC_BY_NAME[v.topic].consumers]
        if not mine:
            continue
        inbox = asyncio.run(_inbox(stack.postgres.dsn(group.replace("-", "_")), group, [v.event_id for v in mine]))
        handled_missing += [(group, v.event_id) for v in mine if v.event_id not in inbox]
    counts = applications_by_person(stack.url("rsd"))
    apps_missing = [p for p in referral_persons if counts[p] == 0]
    apps_doubled = [p for p in referral_persons if counts[p] > 1]
    # The flow continues past rsd: its lodged events are handled by registration and statelessness.
    lodged = lodged_event_ids_by_person(bootstrap, referral_persons)
    lodged_ids = [i for s in lodged.values() for i in s]
    for group in ("registration", "statelessness"):
        inbox = asyncio.run(_inbox(stack.postgres.dsn(group), group, lodged_ids))
        handled_missing += [(group, i) for i in lodged_ids if i not in inbox]
    kinds = Counter(p.kind for p in poisons)
    effects = len(got) + len(valids) - len(handled_missing)
    print(f"\n[fault] {name}: sent={len(poisons)} poison + {len(valids)} valid effects={effects} "
          f"duplicates={duplicates + len(apps_doubled)} losses={len(missing) + len(handled_missing) + len(apps_missing)} "
          f"recover={recover_s:.1f}s dead_letters={len(letters)} expected={len(expected)} kinds={dict(kinds)} "
          f"new_applications={sum(counts.values()) - sum(baseline.values())}", flush=True)
    assert not missing, f"poison not dead-lettered: {[(g, by_id[i].kind, by_id[i].topic) for g, i in sorted(missing)][:10]}"
    assert not unexpected, f"dead-lettered but should be skipped: {[(g, by_id[i].kind, by_id[i].topic) for g, i in sorted(unexpected)][:10]}"
    assert duplicates == 0, f"{duplicates} dead letters written twice"
    assert not no_reason and not wrong_origin, (no_reason[:5], wrong_origin[:5])
    assert not handled_missing, f"valid events not handled: {handled_missing[:10]}"
    assert not apps_missing and not apps_doubled, (apps_missing[:5], apps_doubled[:5])
    return letters


REASONS = {"not-json": "not JSON", "not-object": "must be a JSON object", "empty": "empty payload",
           "missing-headers": "missing CloudEvents headers", "bad-specversion": "unsupported specversion",
           "wrong-schema": "does not match"}


def test_poison_in_every_topic_is_dead_lettered_by_every_group_with_its_reason(fault_stack):
    # At the size (PANA_FAULT_EVENTS=10000): about 10,000 valid records, ten sets of poison.
    poisons = [p for _ in range(max(1, FAULT_EVENTS // 1000)) for p in hand_made_poison()]
    valids = valid_events(n_referrals=max(40, FAULT_EVENTS // 4), n_each=max(10, FAULT_EVENTS // 6))
    letters = check(fault_stack, "poison", poisons, valids)
    by_id = {p.id: p for p in poisons}
    for group, pid, hdrs in letters:
        kind = by_id[pid].kind
        assert REASONS[kind] in hdrs["dlq_reason"].decode(), (group, kind, hdrs["dlq_reason"])


def test_every_consumer_dead_letters_generated_malformed_events(fault_stack):
    generated: list[Poison] = []
    for kind in KINDS:  # the same share of each kind, generated within it

        @settings(max_examples=max(3, FUZZ_EVENTS // len(KINDS)), phases=[Phase.generate], database=None,
                  deadline=None, suppress_health_check=list(HealthCheck))
        @given(malformed_event(kind))
        def collect(poison: Poison) -> None:
            generated.append(poison)

        collect()
    check(fault_stack, "consumer-fuzz", generated, valid_events(n_referrals=30, n_each=8))
