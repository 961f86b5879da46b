"""A hypothesis state machine over one service's API that fuzzes the commands on real records.

Fuzzing with random ids mostly meets 404, and with a real id but no current version 428/412,
so the rules that change state were barely reached. Here each service gets a
`RuleBasedStateMachine` whose rules are its state-changing operations (read from its OpenAPI
document). The machine keeps what it has created: the ids it has seen in responses (pooled by
the path parameter they fill: `application_id`, `interview_id`, `person_id`, ...) and, before
every command, reads the record's current ETag. A profile per service seeds records, walks each a
random number of steps along one of its procedures and fuzzes the step it stands before, so
commands meet records at every stage, not only freshly created ones.

Each command's body is generated from its schema by schemathesis, then mostly nudged towards
sense: a known-good body for the operation (the profile's `templates`) with some fields taken
from the generated one instead, dates near today, ids of records that exist. Its `If-Match` is
mostly the current ETag, sometimes `*`, a stale or made-up one or none, and the caller one of three
subjects (four eyes). Choices that depend on what the service holds are made with a `Random`
seeded from a draw, so hypothesis' own draws never depend on the service's state. Every response is checked:

- no 5xx, and the response conforms to the schema documented for it (schemathesis' checks);
- every 4xx is `application/problem+json`;
- a refused command (4xx) changes nothing: the record's ETag and body read after it are those read
  before it.

Fuzzed calls (not the seeds' and walks' setup calls) are counted per operation and status, and the
test asserts a floor on how many of the service's state-changing operations answered 2xx at least
once. Hypothesis only generates here (records outlive a scenario, so nothing could be replayed or
shrunk); a finding is reported with the body sent and the answer.
"""

from __future__ import annotations

import os
import random
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from support import headers as token_headers

COMMANDS = ("POST", "PUT", "PATCH", "DELETE")
TODAY = date.today()

#: Scenarios per service and steps in each; raise both for a longer run.
SCENARIOS = int(os.environ.get("PANA_FUZZ_STATEFUL_EXAMPLES", "12"))
STEPS = int(os.environ.get("PANA_FUZZ_STATEFUL_STEPS", "16"))


def days(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


def caller(subject: str) -> dict[str, str]:
    """Every role and scope (as test_fuzz.py), as one of three people, so four-eyes rules can be met."""
    from pana_kit.roles import ROLE_SCOPES, SCOPES

    return token_headers("supervisor", purpose="audit", roles=list(ROLE_SCOPES), scope=" ".join(SCOPES),
                         subject=subject, office="almaty")


SUBJECTS = ("fuzzer", "fuzzer-2", "fuzzer-3")


@dataclass
class Step:
    """One call of a walk along the procedure: `path` relative to the record, a body, who calls."""
    path: Callable[["ApiFuzzer", str], str] | str
    body: Callable[["ApiFuzzer", str], dict] | dict
    subject: str = "fuzzer"


@dataclass
class Seed:
    """How to create a record (a valid body) and the walk its commands can take after it."""
    create: str                      # "POST /api/v1/applications"
    body: Callable[["ApiFuzzer"], dict]
    param: str                       # the path parameter its id fills
    id_field: str                    # where its id is in the 201 body
    get: str | None = None           # "/api/v1/applications/{application_id}"
    walks: list[list[Step]] = field(default_factory=list)
    harvest: bool = True             # False: its ids may change by other services' events; no command uses them
    ok: tuple[int, ...] = (200, 201, 202)


@dataclass
class Profile:
    """What the machine needs to know of one service beyond its OpenAPI document."""
    name: str
    seeds: list[Seed]
    #: the GET that reads the record a path parameter names, for its ETag and the no-change check
    reads: dict[str, str]
    #: a valid body per operation label, (pools, path ids, random) -> body, mixed with the generated one
    templates: dict[str, Callable[["Pools", dict[str, str], random.Random], dict]] = field(default_factory=dict)
    #: lists read before fuzzing, for ids only other services' events create (flags, reviews)
    lists: list[str] = field(default_factory=list)
    #: operations whose answers name records that other services' events go on changing
    no_harvest: frozenset[str] = frozenset()
    #: extra field hints: name -> (pools) -> (random) -> value
    hints: dict[str, Callable[["Pools"], Callable[[random.Random], Any]]] = field(default_factory=dict)
    #: operations left to test_fuzz.py (e.g. a signed callback no generated request can pass)
    skip: frozenset[str] = frozenset()
    #: this service's share of the scenarios and steps (the bridge has two commands, rsd twenty-three)
    scale: float = 1.0


class Pools:
    """Ids seen in responses, by the path parameter (or id field) they fill; shared by all scenarios."""

    def __init__(self):
        self.ids: dict[str, list[str]] = defaultdict(list)
        self.children: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self.stale: dict[str, str] = {}

    def add(self, param: str, value: str, parent: str | None = None):
        if value and value not in self.ids[param]:
            self.ids[param].append(value)
        if parent and value not in self.children[parent][param]:
            self.children[parent][param].append(value)

    def harvest(self, body: Any, parent: str | None = None, key: str | None = None):
        """Every id in a response: `x_id` fields, and `id` of items in a list `xs` (-> `x_id`)."""
        if isinstance(body, dict):
            for k, v in body.items():
                if isinstance(v, str) and k.endswith("_id") and k not in ("officer_id", "interviewer_id"):
                    self.add(k, v, parent)
                elif k == "id" and isinstance(v, str) and key:
                    self.add(key.rstrip("s") + "_id", v, parent)
                elif isinstance(v, (dict, list)):
                    self.harvest(v, parent, k)
        elif isinstance(body, list):
            for item in body:
                self.harvest(item, parent, key)


@dataclass
class Operation:
    method: str
    path: str
    params: list[str]
    if_match: bool
    idempotent: bool
    has_body: bool
    strategy: st.SearchStrategy

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _nudged(value: Any, template: Any, rnd: random.Random, hints: dict[str, Callable[[random.Random], Any]],
            key: str | None = None) -> Any:
    """The generated `value`, nudged towards sense: mostly the template's field, or a hinted value."""
    if isinstance(value, dict):
        out = {}
        template = template if isinstance(template, dict) else {}
        for k, v in value.items():
            out[k] = _nudged(v, template.get(k), rnd, hints, k)
        for k, v in template.items():
            if k not in out and rnd.random() < 0.8:
                out[k] = v
        return out
    if template is not None and rnd.random() < 0.7:
        return template
    if key in hints and rnd.random() < 0.7:
        return hints[key](rnd)
    if isinstance(value, list):
        return [_nudged(v, None, rnd, hints, key[:-1] if key and key.endswith("s") else key) for v in value]
    return value


def pick(pools: Pools, param: str, fallback: str) -> Callable[[random.Random], str]:
    """One of the ids seen so far for `param` (the pool grows while the machine runs)."""
    return lambda rnd: rnd.choice(pools.ids[param] or [fallback])


def _base_hints(pools: Pools) -> dict[str, Callable[[random.Random], Any]]:
    def day_in(low: int, high: int):
        return lambda rnd: days(rnd.randint(low, high))

    def one_of(*values):
        return lambda rnd: rnd.choice(values)

    recent = day_in(-30, 1)
    hints = {name: recent for name in (
        "on", "registered_on", "fingerprinted_on", "scheduled_on", "held_on", "assessed_on", "served_on", "lodged_on",
        "received_on", "sent_on", "answered_on", "found_on", "decided_on", "notified_on", "resolved_on", "opened_on",
        "arrived_on", "departed_on", "died_on", "married_on", "split_on", "formed_on", "issued_on", "to_date")}
    hints.update({
        "birth_date": day_in(-30000, -400),
        "expires_on": day_in(200, 3000),
        "new_due": day_in(1, 120),
        "lawful_residence_from": day_in(-4000, -10),
        "language": one_of("prs", "ru", "kk"),
        "state": one_of("UZB", "RUS", "AFG", "KGZ"),
        "nationality": one_of("UZB", "RUS", "AFG"),
        "issuing_state": one_of("UZB", "AFG"),
        "officer_id": one_of(*SUBJECTS),
        "interviewer_id": one_of(*SUBJECTS),
        "reason": one_of("told at interview", "a change of circumstances", "as the file shows"),
        "member_id": pick(pools, "member_id", "m1"),
        "new_principal_member_id": pick(pools, "member_id", "m1"),
        "person_id": pick(pools, "person_id", "p-0"),
        "person_ids": lambda rnd: [pick(pools, "person_id", "p-0")(rnd) for _ in range(rnd.randint(1, 2))],
        "case_id": pick(pools, "case_id", "c-0"),
    })
    for name in ("duplicate_person_id", "spouse_person_id", "new_focal_person_id", "focal_person_id", "mother_person_id",
                 "father_person_id", "surviving_person_id"):
        hints[name] = pick(pools, "person_id", "p-0")
    return hints


def _header(response, name: str) -> str:
    """A header of schemathesis' response (its headers map to lists) or of httpx's."""
    value = response.headers.get(name) or response.headers.get(name.title()) or ""
    return value[0] if isinstance(value, list) else value


@dataclass
class Tally:
    calls: Counter = field(default_factory=Counter)        # (label, status) -> n, fuzzed commands only
    setup: Counter = field(default_factory=Counter)        # (label, status) -> n, seeds and walks
    if_match: Counter = field(default_factory=Counter)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    samples: dict[tuple[str, int], str] = field(default_factory=dict)  # a refusal's answer, for PANA_FUZZ_SHOW
    background: int = 0  # records changed under a refusal by events in flight (checked again once settled)

    def fail(self, label: str, kind: str, detail: str):
        self.failures.setdefault((label, kind), detail[:600])

    def table(self, operations: list[Operation]) -> list[tuple[str, int, int, str]]:
        rows = []
        for op in operations:
            statuses = Counter({s: n for (label, s), n in self.calls.items() if label == op.label})
            ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
            rows.append((op.label, statuses.total(), ok, " ".join(f"{s}:{n}" for s, n in sorted(statuses.items()))))
        return rows


class ApiFuzzer:
    def __init__(self, schema, base_url: str, checks: list, profile: Profile, settle: Callable[[], None] | None = None):
        self.schema, self.base, self.checks, self.profile = schema, base_url.rstrip("/"), checks, profile
        # Waits until no event is in flight anywhere: a record can change under a refused command because an
        # earlier command's events came back (a merge, a death), which is not the refused command's doing.
        self.settle = settle
        self.pools = Pools()
        self.tally = Tally()
        self.http = httpx.Client(base_url=self.base, timeout=60.0)
        self.callers = {s: caller(s) for s in SUBJECTS}
        self.hints = {**_base_hints(self.pools), **{k: f(self.pools) for k, f in profile.hints.items()}}
        self.operations: list[Operation] = []
        raw = schema.raw_schema["paths"]
        for path, methods in raw.items():
            for method, definition in methods.items():
                if method.upper() not in COMMANDS or f"{method.upper()} {path}" in profile.skip:
                    continue
                header_names = {p["name"].lower() for p in definition.get("parameters", []) if p.get("in") == "header"}
                api_op = schema[path][method.upper()]
                self.operations.append(Operation(
                    method=method.upper(), path=path, params=re.findall(r"{(\w+)}", path),
                    if_match="if-match" in header_names, idempotent="idempotency-key" in header_names,
                    has_body="requestBody" in definition, strategy=api_op.as_strategy()))
        self.by_label = {op.label: op for op in self.operations}
        self._machine = None
        self.steps = 0

    # -- reading ------------------------------------------------------------------------------

    def read(self, param: str, value: str) -> httpx.Response | None:
        template = self.profile.reads.get(param)
        if not template:
            return None
        return self.http.get(template.replace("{" + param + "}", value), headers=self.callers["fuzzer"])

    def _record(self, op: Operation, ids: dict[str, str]) -> tuple[str, str] | None:
        """The (param, id) whose record a command changes: the first path parameter that can be read."""
        for param in op.params:
            if param in self.profile.reads:
                return param, ids[param]
        return None

    # -- seeding ------------------------------------------------------------------------------

    def create(self, path: str, body: dict) -> dict:
        """A setup call: POST a valid record (e.g. a person a household needs) and return it."""
        r = self.http.post(path, json=body, headers={**self.callers["fuzzer"], "Idempotency-Key": str(uuid.uuid4())})
        self.tally.setup[f"POST {path}", r.status_code] += 1
        assert r.status_code in (200, 201, 202), f"setup POST {path} refused: {r.status_code} {r.text[:500]}"
        return r.json()

    def seed(self, seed: Seed, walk_steps: int, walk: int, data=None):
        """Create a record, walk it `walk_steps` along one of its walks, then fuzz the walk's next step on it.

        A walk stops at its first refusal (counted with the setup calls, shown by PANA_FUZZ_SHOW); the
        fuzzed command is then the step it could not take. So every step of a walk is fuzzed on a
        record in the state it needs, not only on whatever record the machine picks.
        """
        label = seed.create
        method, path = label.split(" ", 1)
        body = seed.body(self)
        r = self.http.request(method, path, json=body,
                              headers={**self.callers["fuzzer"], "Idempotency-Key": str(uuid.uuid4())})
        self.tally.setup[label, r.status_code] += 1
        assert r.status_code in seed.ok, f"seed {label} refused: {r.status_code} {r.text[:500]}"
        record_id = r.json()[seed.id_field]
        if not seed.harvest:
            return
        self.pools.add(seed.param, record_id)
        self.pools.harvest(r.json(), parent=record_id)
        if not seed.walks:
            return
        steps = seed.walks[walk % len(seed.walks)]
        base = seed.get.replace("{" + seed.param + "}", record_id) if seed.get else path + "/" + record_id
        taken = 0
        def where(step: Step) -> str:
            return step.path(self, record_id) if callable(step.path) else step.path

        for step in steps[:walk_steps]:
            current = self.http.get(base, headers=self.callers["fuzzer"])
            body = step.body(self, record_id) if callable(step.body) else step.body
            r = self.http.post(f"{base}/{where(step)}", json=body,
                               headers={**self.callers[step.subject], "If-Match": current.headers.get("ETag", "")})
            self.tally.setup[f"walk {re.sub(r'/[0-9a-f-]{20,}', '/{id}', where(step))}", r.status_code] += 1
            if r.status_code != 200:
                break
            taken += 1
            self.pools.harvest(r.json(), parent=record_id)
        if data is not None and taken < len(steps):
            template = (seed.get or path + "/{" + seed.param + "}") + "/" + where(steps[taken])
            op = self.by_label.get("POST " + template) or self._matching(template)
            if op is not None:
                self.command(op, data, fixed={seed.param: record_id})

    def advance(self, path: str, body: dict, subject: str = "fuzzer") -> dict:
        """A setup command on a record at `path` (its current ETag read first): a step a seed needs."""
        record = path.rsplit("/", 1)[0]
        current = self.http.get(record, headers=self.callers["fuzzer"])
        r = self.http.post(path, json=body, headers={**self.callers[subject], "If-Match": current.headers.get("ETag", "")})
        self.tally.setup[f"setup {re.sub(r'/[0-9a-f-]{20,}', '/{id}', path)}", r.status_code] += 1
        assert r.status_code == 200, f"setup {path} refused: {r.status_code} {r.text[:500]}"
        return r.json()

    def _matching(self, concrete: str) -> Operation | None:
        """The operation whose path template matches a walk step's path (`interviews/i1/record`)."""
        for op in self.operations:
            if op.method == "POST" and re.fullmatch(re.sub(r"\\{\w+\\}", "[^/]+", re.escape(op.path)), concrete):
                return op
        return None

    # -- one fuzzed command -------------------------------------------------------------------

    def _changed_under_refusal(self, op, record, case, headers, body, status, response, before, after) -> None:
        """A refused command's record changed. With `settle`, once no event is in flight the same command is sent
        again between two reads: refused again with the record unchanged, the first change was an earlier
        command's events coming back, not this one's; otherwise (or without `settle`) it is a finding."""
        if self.settle is not None:
            self.settle()
            before = self.read(*record)
            again = dict(headers)  # the same command, as sent (a fresh idempotency key: not a replay)
            if "Idempotency-Key" in again:
                again["Idempotency-Key"] = str(uuid.uuid4())
            response = case.call(headers=again, timeout=60)
            status = response.status_code
            if status < 400 or status >= 500:
                self.tally.background += 1  # no longer a refusal: the record's state moved on meanwhile
                return
            after = self.read(*record)
            if after.headers.get("ETag") == before.headers.get("ETag") and after.json() == before.json():
                self.tally.background += 1
                return
        was, now = before.json(), after.json()
        changed = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k)) \
            if isinstance(was, dict) and isinstance(now, dict) else []
        self.tally.fail(op.label, "a refused command changed the record",
                        f"{status} {response.text[:300]}\nbody sent: {body}\n"
                        f"ETag {before.headers.get('ETag')} -> {after.headers.get('ETag')}; fields changed: "
                        + "; ".join(f"{k}: {was.get(k)!r} -> {now.get(k)!r}" for k in changed[:6])[:600])

    def command(self, op: Operation, data, fixed: dict[str, str] | None = None):
        case = data.draw(op.strategy, label="generated")
        # Every choice that depends on what exists (pools grow, records move on) is made with this
        # Random, so hypothesis sees the same draws whatever the service holds.
        # Seeded by a draw and the step's number: hypothesis' simplest draws (0) repeat, steps should not.
        self.steps += 1
        rnd = random.Random(f"{data.draw(st.integers(0, 2**32), label='choices')}-{self.steps}")
        ids: dict[str, str] = {}
        for param in op.params:
            if fixed and param in fixed:
                ids[param] = fixed[param]
                continue
            parent = ids.get(op.params[0]) if param != op.params[0] else None
            choices = (self.pools.children[parent][param] if parent else []) or self.pools.ids[param]
            if choices and rnd.random() < 0.9:
                ids[param] = rnd.choice(choices)
            else:
                ids[param] = str(case.path_parameters.get(param) or "x")
        record = self._record(op, ids)
        before = self.read(*record) if record else None
        if before is not None and before.status_code == 200:
            self.pools.harvest(before.json(), parent=record[1])
        etag = before.headers.get("ETag") if before is not None and before.status_code == 200 else None

        body = case.body if op.has_body else None
        if op.has_body:
            template_of = self.profile.templates.get(op.label)
            template = template_of(self.pools, ids, rnd) if template_of else None
            if template is not None and rnd.random() < 0.8:
                body = _nudged(body if isinstance(body, dict) else {}, template, rnd, self.hints)
            else:
                body = _nudged(body, None, rnd, self.hints)

        subject = rnd.choice(SUBJECTS)
        headers = dict(self.callers[subject])
        if op.if_match:
            choice = rnd.choice(["current"] * 7 + ["any", "stale", "made-up", "none"])
            if choice == "current" and etag:
                headers["If-Match"] = etag
            elif choice == "any":
                headers["If-Match"] = "*"
            elif choice == "stale" and record and record[1] in self.pools.stale:
                headers["If-Match"] = self.pools.stale[record[1]]
            elif choice == "made-up":
                headers["If-Match"] = '"' + "".join(rnd.choices("0123456789abcdef", k=rnd.randint(1, 8))) + '"'
            self.tally.if_match[choice] += 1
        if op.idempotent:
            headers["Idempotency-Key"] = str(uuid.uuid4())

        case.path_parameters = ids
        case.headers = {}
        case.query = {}
        case.body = body
        response = case.call(headers=headers, timeout=60)
        status = response.status_code
        self.tally.calls[op.label, status] += 1
        if status >= 400:
            self.tally.samples.setdefault((op.label, status), f"{response.text[:300]} <- {body}"[:700])
        try:
            case.validate_response(response, checks=self.checks)
        except Exception as exc:  # noqa: BLE001 - every kind of check failure is a finding
            self.tally.fail(op.label, type(exc).__name__, f"{status} {exc}\nbody sent: {body}\nanswer: {response.text[:300]}")
        if 400 <= status < 500:
            kind = _header(response, "content-type")
            if not kind.startswith("application/problem+json"):
                self.tally.fail(op.label, "not problem+json", f"{status} {kind}: {response.text[:300]}")
            if record and etag:
                after = self.read(*record)
                if after.headers.get("ETag") != etag or after.json() != before.json():
                    self._changed_under_refusal(op, record, case, headers, body, status, response, before, after)
        if 200 <= status < 300:
            if record and etag:
                self.pools.stale[record[1]] = etag
            try:
                answer = response.json()
            except ValueError:
                answer = None
            parent = record[1] if record else None
            if answer is not None and op.label not in self.profile.no_harvest:
                if not op.params and isinstance(answer, dict):
                    # a create: its own id is a record of its own
                    parent = None
                    for seed in self.profile.seeds:
                        if seed.create == op.label and seed.harvest and isinstance(answer.get(seed.id_field), str):
                            self.pools.add(seed.param, answer[seed.id_field])
                            parent = answer[seed.id_field]
                self.pools.harvest(answer, parent=parent)

    # -- the machine --------------------------------------------------------------------------

    def machine(self) -> RuleBasedStateMachine:
        fuzzer = self
        attrs: dict[str, Any] = {}

        def make_seed(index: int, seed: Seed):
            def seed_rule(self, data):
                depth = data.draw(st.integers(0, 2 * max((len(w) for w in seed.walks), default=0)), label="walk depth")
                walk = data.draw(st.integers(0, max(len(seed.walks) - 1, 0)), label="walk")
                fuzzer.seed(seed, depth, walk, data)
            seed_rule.__name__ = f"seed_{index}"
            return rule(data=st.data())(seed_rule)

        def make_command(op: Operation):
            def command_rule(self, data):
                fuzzer.command(op, data)
            command_rule.__name__ = re.sub(r"\W+", "_", op.label.lower())
            return rule(data=st.data())(command_rule)

        @initialize(data=st.data())
        def first_records(self, data):
            for path in fuzzer.profile.lists:
                listed = fuzzer.http.get(path, headers=fuzzer.callers["fuzzer"])
                if listed.status_code == 200:
                    fuzzer.pools.harvest(listed.json())
            for i, seed in enumerate(fuzzer.profile.seeds):
                depth = data.draw(st.integers(0, 2 * max((len(w) for w in seed.walks), default=0)), label="walk depth")
                fuzzer.seed(seed, depth, data.draw(st.integers(0, max(len(seed.walks) - 1, 0))), data)

        attrs["first_records"] = first_records
        for i, seed in enumerate(self.profile.seeds):
            attrs[f"seed_{i}"] = make_seed(i, seed)
        for op in self.operations:
            attrs["op_" + re.sub(r"\W+", "_", op.label.lower())] = make_command(op)
        if self._machine is None:
            self._machine = type(f"Fuzz_{self.profile.name}", (RuleBasedStateMachine,), attrs)
        return self._machine()

    def run(self, scenarios: int | None = None, steps: int | None = None) -> Tally:
        scenarios = scenarios or max(1, round(SCENARIOS * self.profile.scale))
        steps = steps or STEPS
        started = time.monotonic()
        # Records outlive a scenario, so hypothesis never replays one (generate only, no shrinking).
        run_state_machine_as_test(self.machine, settings=settings(
            max_examples=scenarios, stateful_step_count=steps, deadline=None, database=None, derandomize=True,
            suppress_health_check=list(HealthCheck), phases=[Phase.generate]))
        self.elapsed = time.monotonic() - started
        return self.tally

    def report(self) -> tuple[int, int, int]:
        rows = self.tally.table(self.operations)
        exercised = sum(1 for _, n, _, _ in rows if n)
        reached = sum(1 for _, _, ok, _ in rows if ok)
        width = max(len(r[0]) for r in rows)
        lines = [f"\n{self.profile.name}: {len(rows)} state-changing operations, {exercised} exercised, "
                 f"{reached} answered 2xx ({self.tally.calls.total()} fuzzed commands, "
                 f"{self.tally.setup.total()} setup calls, {self.elapsed:.0f}s; If-Match {dict(self.tally.if_match)}; "
                 f"changed under a refusal by events in flight, checked again once settled: {self.tally.background})"]
        for label, n, ok, statuses in rows:
            lines.append(f"  {'+' if ok else ' '} {label:<{width}}  {n:4d} calls {ok:4d} 2xx   {statuses}")
        if os.environ.get("PANA_FUZZ_SHOW"):  # why commands were refused: one answer per operation and status
            lines += [f"    {label} {status}: {text}" for (label, status), text in sorted(self.tally.samples.items())]
            lines += [f"    setup {label}: {status} x{n}" for (label, status), n in sorted(self.tally.setup.items())]
        print("\n".join(lines))
        return len(rows), exercised, reached
