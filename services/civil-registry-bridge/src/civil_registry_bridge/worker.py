"""The bridge's service layer for registry calls: the worker, the reconciler, the callback.

Every request is stored before the registry is called (by the handler or the API).
The worker picks due requests (`BirthRequest.is_due`), claims each in its own
transaction (the claim moves `next_attempt_at` a lease ahead, so a second worker or
instance leaves it alone, and a worker that dies mid-call only delays it), calls the
registry through the port outside any transaction, and records the answer in a new
transaction with the events it causes (outbox). A registry outage leaves requests
where they are with a jittered retry time; nothing is lost and nothing is done twice:
the submission carries an idempotency key the registry deduplicates on.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
from datetime import datetime, timedelta, timezone
from typing import Any

from pana_kit.domain import RuleViolation
from pana_kit.outbox import OutboxSignal, UnitOfWork

from .domain.ports import (
    CivilRegistry,
    RegistryError,
    RegistryUnavailable,
    SubmissionStatus,
)
from .domain.request import CALLING_STATES, BirthRequest
from .domain.rules import BridgeRules
from .publishing import publish
from .store.repository import BirthRequests, VersionConflict

log = logging.getLogger("civil_registry_bridge.worker")

_SAVE_TRIES = 5


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def callback_signature(secret: str, request_id: str) -> str:
    """The signature a callback URL carries: HMAC-SHA256 of the request id with the shared secret."""
    return hmac.new(secret.encode(), request_id.encode(), hashlib.sha256).hexdigest()


class RegistryWork:
    def __init__(self, db, source: str, signal: OutboxSignal, registry: CivilRegistry, rules: BridgeRules, *,
                 lease: timedelta, poll_interval_s: float, batch_size: int, max_tasks: int):
        self.db = db
        self.source = source
        self.signal = signal
        self.registry = registry
        self.rules = rules
        self.lease = lease
        self.poll_interval_s = poll_interval_s
        self.batch_size = batch_size
        self.max_tasks = max_tasks
        self.wake = asyncio.Event()
        self.in_progress: dict[str, asyncio.Task] = {}
        self.calls = 0  # registry calls made (tests, metrics)
        self.reconciled = 0

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, self.source, signal=self.signal)

    # --- the worker loop ---------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                started = await self.pick_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("picking due requests failed; trying again")
                started = 0
            if started == 0 or len(self.in_progress) >= self.max_tasks:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), self.poll_interval_s)
                except asyncio.TimeoutError:
                    pass

    async def pick_due(self) -> int:
        room = self.max_tasks - len(self.in_progress)
        if room <= 0:
            return 0
        async with self.db.session() as session:
            ids = await BirthRequests(session).due(utcnow(), min(self.batch_size, room + len(self.in_progress)))
        started = 0
        for request_id in ids:
            if request_id in self.in_progress or len(self.in_progress) >= self.max_tasks:
                continue
            task = asyncio.create_task(self.process(request_id), name=f"birth-request-{request_id}")
            self.in_progress[request_id] = task
            task.add_done_callback(lambda t, rid=request_id: self._done(rid))
            started += 1
        return started

    def _done(self, request_id: str) -> None:
        self.in_progress.pop(request_id, None)
        self.wake.set()

    async def drain(self) -> None:
        """Process every due request until none is due (tests)."""
        while True:
            await self.pick_due()
            if not self.in_progress:
                return
            await asyncio.gather(*list(self.in_progress.values()), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self.in_progress.values()):
            task.cancel()
        await asyncio.gather(*list(self.in_progress.values()), return_exceptions=True)

    # --- one request -------------------------------------------------------------------------

    async def process(self, request_id: str) -> None:
        try:
            claimed = await self._claim(request_id)
            if claimed is None:
                return
            request, step = claimed
            result = await self._call(request, step)
            await self._record(request_id, step, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The request stays stored and claimed; it is due again when the lease ends.
            log.exception("processing birth request %s failed", request_id)

    async def _claim(self, request_id: str) -> tuple[BirthRequest, str] | None:
        now = utcnow()
        try:
            async with self.uow() as uow:
                repo = BirthRequests(uow.session)
                request, version = await repo.get(request_id)
                if not request.is_due(now):
                    return None
                if request.state == "received":
                    if request.kind == "verification":
                        request.begin_verification(now)
                    else:
                        request.begin_submission(now)
                step = request.state
                request.next_attempt_at = now + self.lease  # the claim
                await repo.save(request, version)
                publish(uow, request)
        except VersionConflict:
            return None  # someone else took it
        except RuleViolation as exc:
            log.warning("birth request %s cannot start: %s", request_id, exc.detail)
            return None
        return request, step

    async def _call(self, request: BirthRequest, step: str) -> Any:
        self.calls += 1
        try:
            if step == "verifying":
                return await self.registry.verify_birth(request.verification_query())
            if step == "submitting":
                return await self.registry.submit_birth_registration(request.submission())
            if step == "submitted":
                assert request.submission_id is not None
                return await self.registry.submission_status(request.submission_id)
            raise RuntimeError(f"no registry call for a request that is {step}")
        except RegistryError as error:
            return error
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:
            log.exception("the registry adapter failed unexpectedly")
            return RegistryUnavailable(f"unexpected adapter error ({type(exc).__name__})")

    async def _record(self, request_id: str, step: str, result: Any) -> None:
        for _ in range(_SAVE_TRIES):
            now = utcnow()
            try:
                async with self.uow() as uow:
                    repo = BirthRequests(uow.session)
                    request, version = await repo.get(request_id)
                    if not self._apply(request, step, result, now):
                        return
                    await repo.save(request, version)
                    publish(uow, request)
                return
            except VersionConflict:
                continue  # a callback wrote in between: read again, apply again
        log.warning("birth request %s: could not record the %s answer after %d tries; it is due again later",
                    request_id, step, _SAVE_TRIES)

    def _apply(self, request: BirthRequest, step: str, result: Any, now: datetime) -> bool:
        """Apply the registry's answer to the current state; False when there is nothing to write."""
        try:
            if isinstance(result, RegistryError):
                if request.state != step:
                    return False  # it moved on meanwhile (e.g. a callback settled it)
                request.record_failure(result, now, self.rules, random.random)
                hint = getattr(result, "retry_after", None)
                if hint and request.state in CALLING_STATES and request.next_attempt_at is not None:
                    wait = min(timedelta(seconds=hint), self.rules.retry_max_delay)
                    request.next_attempt_at = max(request.next_attempt_at, now + wait)
            elif step == "verifying":
                request.record_verification(result, now, self.rules)
                if request.state == "not_found" and request.should_submit_when_not_found(self.rules):
                    request.begin_submission(now)
            elif step == "submitting":
                request.record_submission_accepted(result, now, self.rules)
            elif step == "submitted":
                request.record_submission_status(result, now, self.rules)
            else:
                return False
        except RuleViolation as exc:
            log.info("birth request %s: answer to %s not applied (%s)", request.request_id, step, exc.detail)
            return False
        return True

    # --- the registry's callback ----------------------------------------------------------------

    async def record_callback(self, request_id: str, status: SubmissionStatus) -> BirthRequest:
        """The registry says how a submission ended (or that it is pending). RuleViolation = 409."""
        for _ in range(_SAVE_TRIES):
            now = utcnow()
            try:
                async with self.uow() as uow:
                    repo = BirthRequests(uow.session)
                    request, version = await repo.get(request_id)
                    before = request.to_document()
                    request.record_submission_status(status, now, self.rules)
                    if request.to_document() != before:
                        await repo.save(request, version)
                        publish(uow, request)
                return request
            except VersionConflict:
                continue
        raise RuntimeError("the request kept changing while the callback was recorded")

    # --- the reconciler -----------------------------------------------------------------------

    async def reconcile(self, stuck_after: timedelta, limit: int = 500) -> int:
        """Requests with no progress for `stuck_after`: parked ones resume, others are due now."""
        now = utcnow()
        async with self.db.session() as session:
            ids = await BirthRequests(session).quiet_since(now - stuck_after, limit)
        picked = 0
        for request_id in ids:
            try:
                async with self.uow() as uow:
                    repo = BirthRequests(uow.session)
                    request, version = await repo.get(request_id)
                    if not request.is_stuck(now, stuck_after):
                        continue
                    if request.state == "parked":
                        request.resume(now)
                    else:
                        request.next_attempt_at = now
                        request.updated_at = now
                    await repo.save(request, version)
                    picked += 1
                    log.warning("reconciler picked up birth request %s (%s, last error: %s)",
                                request_id, request.state, request.last_error)
            except VersionConflict:
                continue
        self.reconciled += picked
        if picked:
            self.wake.set()
        return picked

    async def run_reconciler(self, interval_s: float, stuck_after: timedelta) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.reconcile(stuck_after)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reconciliation failed; trying again next round")
