"""The application layer's one template: how every command of every service runs.

    load the aggregate → check the caller's If-Match → run the domain step → save with the
    version check → translate the recorded domain events into contract events → outbox → audit

all inside the caller's unit of work, so the state, its events and the audit entry commit
together or not at all. Each service's `service.py` holds its use cases, written with
`run_command` / `run_creation`; its routes (HTTP) and its event handlers (Kafka) both call
those use cases, and neither repeats any step of this template.

Errors are domain errors (`NotFound`, `StaleVersion`, `VersionRequired`, `RuleViolation`),
mapped to problem+json once, in `pana_kit.errors`.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Generic, Iterable, Protocol, TypeVar

from pana_events import Envelope, Event

from . import audit as audit_log
from .domain import Aggregate, DomainEvent, StaleVersion, VersionRequired

A = TypeVar("A", bound=Aggregate)


class Repository(Protocol[A]):
    """What the template needs of a repository; queries beyond these stay in the repository."""

    async def load(self, aggregate_id: str) -> tuple[A, int]:
        """The aggregate and its stored version; `NotFound` when absent or not visible to this caller."""

    async def save(self, aggregate: A, expected_version: int) -> int:
        """Write if nobody else did since `expected_version`; the new version, or `StaleVersion`."""


class Creates(Protocol[A]):
    async def add(self, aggregate: A) -> int:
        """Store a new aggregate; its first version."""


# (aggregate, the domain events it recorded) -> the contract events to publish, each with its subject
Publisher = Callable[[Any, list[DomainEvent]], Iterable[tuple[Event, str]]]
Step = Callable[[A], Any | Awaitable[Any]]


class _AnyVersion:
    def __repr__(self) -> str:
        return "ANY_VERSION"


# System commands (an event handler, a background job) act on the current version: there is
# no caller's read to be stale against. The save still refuses a concurrent write.
ANY_VERSION: Any = _AnyVersion()


def etag_of(version: int | str, resource_id: str) -> str:
    """The strong ETag of one version of one record."""
    return '"' + hashlib.sha256(f"{resource_id}:{version}".encode()).hexdigest()[:32] + '"'


def check_version(if_match: str | None, current_etag: str) -> None:
    """A change must name the version it was based on: `VersionRequired` without it, `StaleVersion` when old."""
    if not if_match:
        raise VersionRequired("this update needs an If-Match header with the ETag from your last read")
    candidates = [c.strip() for c in if_match.split(",")]
    if "*" not in candidates and current_etag not in candidates and f"W/{current_etag}" not in candidates:
        raise StaleVersion("the record changed since you read it; read it again and reapply your change",
                           extra={"current_etag": current_etag})


@dataclass(frozen=True)
class Audit:
    """Who did what to which record, and why; appended in the command's transaction."""

    principal: Any  # pana_kit.auth.Principal, or None for the system
    action: str
    resource: str
    purpose: str | None = "case-work"
    service: str = ""


@dataclass
class Outcome(Generic[A]):
    aggregate: A
    version: int
    etag: str
    result: Any = None  # what the domain step returned (an issued number, a new member, ...)
    emitted: list[Envelope] = field(default_factory=list)


async def run_command(uow, repository: Repository[A], aggregate_id: str, step: Step, *, if_match: str | None,
                      publish: Publisher, audit: Audit | None = None) -> Outcome[A]:
    """Run one command on one existing aggregate (see the module's docstring for the steps)."""
    aggregate, version = await repository.load(aggregate_id)
    if if_match is not ANY_VERSION:
        check_version(if_match, etag_of(version, aggregate_id))
    result = step(aggregate)
    if inspect.isawaitable(result):
        result = await result
    version = await repository.save(aggregate, version)
    return await _finish(uow, aggregate, aggregate_id, version, result, publish, audit)


async def run_creation(uow, repository: Creates[A], aggregate: A, aggregate_id: str, *, publish: Publisher,
                       audit: Audit | None = None) -> Outcome[A]:
    """Store a new aggregate, publish what its creation recorded, audit."""
    version = await repository.add(aggregate)
    return await _finish(uow, aggregate, aggregate_id, version, None, publish, audit)


def emit_recorded(uow, aggregate: Aggregate, publish: Publisher) -> list[Envelope]:
    """Write the contract events of what the aggregate recorded to the outbox (the caller's transaction)."""
    return [uow.emit(event, subject=subject) for event, subject in publish(aggregate, aggregate.collect_events())]


async def _finish(uow, aggregate, aggregate_id: str, version: int, result: Any, publish: Publisher,
                  audit: Audit | None) -> Outcome:
    emitted = emit_recorded(uow, aggregate, publish)
    if audit is not None:
        await audit_log.record(uow.session, audit.principal, audit.action, audit.resource, purpose=audit.purpose,
                               service=audit.service)
    return Outcome(aggregate, version, etag_of(version, aggregate_id), result, emitted)
