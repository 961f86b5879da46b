"""The bridge's use cases. The API, the event handlers and the registry worker all call these;
each command runs through the kit's template (`pana_kit.application`): load → the caller's
If-Match (none here: no route changes a stored request, so every command acts on the current
version) → domain step → versioned save → publish (`publishing.py`) → audit, in one unit of work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pana_kit import audit
from pana_kit.application import ANY_VERSION, Audit, run_command, run_creation
from pana_kit.domain import NotFound, RuleViolation, StaleVersion, utcnow
from pana_kit.outbox import UnitOfWork
from pana_kit.paging import Page

from .domain.ports import RegistryError, SubmissionStatus
from .domain.request import CALLING_STATES, RULE_IDEMPOTENCY, BirthRequest
from .domain.rules import BridgeRules
from .publishing import publish
from .store.repository import BirthRequests

log = logging.getLogger("civil_registry_bridge.service")

SERVICE = "civil-registry-bridge"
REGISTRATION_CLIENT = "registration"  # whose idempotency keys the requests made from registration's events are
SAVE_TRIES = 5

T = TypeVar("T")


class Unchanged(Exception):
    """The step found nothing to write: nothing is saved, published or audited."""

    def __init__(self, request: BirthRequest):
        self.request = request


class KeptChanging(RuntimeError):
    """Every try met a concurrent write (`SAVE_TRIES`)."""


async def _on_current(uow: UnitOfWork, request_id: str, step: Callable[[BirthRequest], Any]):
    """A system command (worker, callback, reconciler): no caller's read to be stale against."""
    return await run_command(uow, BirthRequests(uow.session), request_id, step, if_match=ANY_VERSION, publish=publish)


async def retried(units: Callable[[], UnitOfWork], command: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """`command` in a fresh unit of work, again while a concurrent write gets in between
    (a callback and the worker may record answers for one request at the same time)."""
    for _ in range(SAVE_TRIES):
        try:
            async with units() as uow:
                return await command(uow)
        except StaleVersion:
            continue
    raise KeptChanging(f"the request kept changing in {SAVE_TRIES} tries")


def _resource(request_id: str) -> str:
    return f"birth-verification/{request_id}"


# --- requests come in ------------------------------------------------------------------------

async def receive(uow: UnitOfWork, request: BirthRequest, *, client: str, principal) -> tuple[BirthRequest, bool]:
    """A request asked over HTTP, stored once per client and idempotency key: the stored request
    (created=False) when the key comes again with the same content, RuleViolation with another."""
    repo = BirthRequests(uow.session, client=client)
    stored = await repo.by_key(client, request.idempotency_key)
    if stored is not None:
        existing, fingerprint = stored
        if fingerprint != repo.fingerprint(request):
            raise RuleViolation(RULE_IDEMPOTENCY, "this idempotency key was already used for a different request",
                                request_id=existing.request_id)
        await audit.record(uow.session, principal, "replay", _resource(existing.request_id), purpose="verification",
                           service=SERVICE)
        return existing, False
    await run_creation(uow, repo, request, request.request_id, publish=publish,
                       audit=Audit(principal, "create", _resource(request.request_id), purpose="verification",
                                   service=SERVICE))
    return request, True


async def receive_recorded_birth(uow: UnitOfWork, request: BirthRequest) -> bool:
    """A child recorded by registration: one request per child (the same child again, under
    another event id or with corrected details, is the first request). True when stored."""
    repo = BirthRequests(uow.session, client=REGISTRATION_CLIENT)
    if await repo.by_key(REGISTRATION_CLIENT, request.idempotency_key) is not None:
        return False
    await run_creation(uow, repo, request, request.request_id, publish=publish)
    return True


# --- reads -----------------------------------------------------------------------------------

async def read(db, request_id: str, *, principal, purpose: str) -> BirthRequest:
    async with db.transaction() as session:
        found = await BirthRequests(session).find(request_id)
        await audit.record(session, principal, "read", _resource(request_id), purpose=purpose,
                           outcome="ok" if found else "not_found", service=SERVICE)
    if found is None:
        raise NotFound(f"no birth verification request {request_id}")
    return found


async def find(db, *, child_person_id: str | None, status: str | None, kind: str | None, cursor: dict | None,
               limit: int, principal, purpose: str) -> Page[BirthRequest]:
    async with db.transaction() as session:
        page = await BirthRequests(session).page(child_person_id=child_person_id, status=status, kind=kind,
                                                 cursor=cursor, limit=limit)
        await audit.record(session, principal, "list", f"birth-verifications?child_person_id={child_person_id or '*'}",
                           purpose=purpose, service=SERVICE)
    return page


# --- the registry worker ---------------------------------------------------------------------

async def claim(uow: UnitOfWork, request_id: str, *, now: datetime, lease: timedelta) -> tuple[BirthRequest, str] | None:
    """Take a due request for one registry call: its first step begins, and it is not due again
    until `lease` has passed (another worker leaves it alone; a worker that dies only delays it).
    The request and the step to call for, or None when it is not due."""

    def take(request: BirthRequest) -> str:
        if not request.is_due(now):
            raise Unchanged(request)
        if request.state == "received":
            if request.kind == "verification":
                request.begin_verification(now)
            else:
                request.begin_submission(now)
        request.next_attempt_at = now + lease
        return request.state

    try:
        done = await _on_current(uow, request_id, take)
    except Unchanged:
        return None
    return done.aggregate, done.result


async def record_answer(uow: UnitOfWork, request_id: str, step: str, answer: Any, *, now: datetime,
                        rules: BridgeRules, random: Callable[[], float]) -> bool:
    """Apply the registry's answer (or error) to a call made at `step`; False when nothing changed
    (the request moved on meanwhile, e.g. a callback settled it)."""

    def apply(request: BirthRequest) -> None:
        try:
            if isinstance(answer, RegistryError):
                if request.state != step:
                    raise Unchanged(request)
                request.record_failure(answer, now, rules, random)
                hint = getattr(answer, "retry_after", None)
                if hint and request.state in CALLING_STATES and request.next_attempt_at is not None:
                    wait = min(timedelta(seconds=hint), rules.retry_max_delay)
                    request.next_attempt_at = max(request.next_attempt_at, now + wait)
            elif step == "verifying":
                request.record_verification(answer, now, rules)
                if request.state == "not_found" and request.should_submit_when_not_found(rules):
                    request.begin_submission(now)
            elif step == "submitting":
                request.record_submission_accepted(answer, now, rules)
            elif step == "submitted":
                request.record_submission_status(answer, now, rules)
            else:
                raise Unchanged(request)
        except RuleViolation as exc:
            log.info("birth request %s: answer to %s not applied (%s)", request.request_id, step, exc.detail)
            raise Unchanged(request) from exc

    try:
        await _on_current(uow, request_id, apply)
    except Unchanged:
        return False
    return True


async def record_callback(units: Callable[[], UnitOfWork], request_id: str, status: SubmissionStatus, *,
                          rules: BridgeRules) -> BirthRequest:
    """The registry says how a submission ended (or that it is pending). RuleViolation = 409.
    May meet the worker recording the submit response for the same request: then read again."""

    async def command(uow: UnitOfWork) -> BirthRequest:
        now = utcnow()

        def decide(request: BirthRequest) -> None:
            before = request.to_document()
            request.record_submission_status(status, now, rules)
            if request.to_document() == before:
                raise Unchanged(request)  # the same outcome again

        try:
            return (await _on_current(uow, request_id, decide)).aggregate
        except Unchanged as nothing:
            return nothing.request

    return await retried(units, command)


async def pick_up_if_stuck(uow: UnitOfWork, request_id: str, *, now: datetime,
                           stuck_after: timedelta) -> BirthRequest | None:
    """The reconciler: a request without progress for `stuck_after` resumes (parked) or is due now."""

    def pick_up(request: BirthRequest) -> None:
        if not request.is_stuck(now, stuck_after):
            raise Unchanged(request)
        if request.state == "parked":
            request.resume(now)
        else:
            request.next_attempt_at = now
            request.updated_at = now

    try:
        return (await _on_current(uow, request_id, pick_up)).aggregate
    except Unchanged:
        return None
