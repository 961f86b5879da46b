"""The registry worker and the reconciler: when to call the registry, and the call itself.

Every request is stored before the registry is called (by the handler or the API).
The worker picks due requests (`BirthRequest.is_due`), claims each in its own
transaction (the claim moves `next_attempt_at` a lease ahead, so a second worker or
instance leaves it alone, and a worker that dies mid-call only delays it), calls the
registry through the port outside any transaction, and records the answer in a new
transaction with the events it causes (outbox). Claims, answers and pick-ups are the
use cases in `service.py`; this module decides when to run them and makes the call in
between. A registry outage leaves requests where they are with a jittered retry time;
nothing is lost and nothing is done twice:
the submission carries an idempotency key the registry deduplicates on.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta
from typing import Any

from pana_kit.domain import RuleViolation, StaleVersion, utcnow
from pana_kit.outbox import OutboxSignal, UnitOfWork

from . import service
from .domain.ports import CivilRegistry, RegistryError, RegistryUnavailable
from .domain.request import BirthRequest
from .domain.rules import BridgeRules
from .store.repository import BirthRequests

log = logging.getLogger("civil_registry_bridge.worker")


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
        try:
            async with self.uow() as uow:
                return await service.claim(uow, request_id, now=utcnow(), lease=self.lease)
        except StaleVersion:
            return None  # someone else took it
        except RuleViolation as exc:
            log.warning("birth request %s cannot start: %s", request_id, exc.detail)
            return None

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
        try:
            await service.retried(self.uow, lambda uow: service.record_answer(
                uow, request_id, step, result, now=utcnow(), rules=self.rules, random=random.random))
        except service.KeptChanging:
            log.warning("birth request %s: could not record the %s answer after %d tries; it is due again later",
                        request_id, step, service.SAVE_TRIES)

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
                    request = await service.pick_up_if_stuck(uow, request_id, now=now, stuck_after=stuck_after)
            except StaleVersion:
                continue
            if request is not None:
                picked += 1
                log.warning("reconciler picked up birth request %s (%s, last error: %s)",
                            request_id, request.state, request.last_error)
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
