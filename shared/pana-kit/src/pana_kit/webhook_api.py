"""Webhook subscriptions, the same on every service for its own events (`create_app` adds this router).

An authorised system (scope `webhooks:manage`) subscribes to some of the event types the service publishes,
with an https callback URL; the answer carries the signing secret, once. A subscriber must also hold the read
scopes of the service's events (`pana_kit.webhook_rules.READ_SCOPES_BY_SOURCE`). A system sees and manages only
its own subscriptions (by OAuth client). Every change is in the audit log. Delivery: `pana_kit.webhooks`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Optional

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import and_, delete, func, select, update

from . import audit
from . import webhook_rules as rules
from .auth import Principal, require
from .domain import new_id
from .errors import Problem, problem_responses
from .http import encode_cursor, keyset_after, keyset_cursor, keyset_position, page_params
from .tables import WebhookDelivery, WebhookSubscription
from .webhooks import DELIVERED, PARKED, PENDING, aware, check_url, secret_context, utcnow

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
SubscriptionId = Path(..., pattern=UUID_PATTERN, description="The subscription id",
                      examples=["5b0c8f0e-3a1d-4a7e-9c51-0f6f1b2d7a90"])
DeliveryId = Path(..., pattern=UUID_PATTERN, description="The delivery id",
                  examples=["9d4e1c2a-7b3f-4e8d-a1c6-2f5b8e0d4c17"])
_manage = require(rules.MANAGE_SCOPE)
_EXAMPLE_ID = "5b0c8f0e-3a1d-4a7e-9c51-0f6f1b2d7a90"
#: The request example must be accepted where "Try it out" runs: a dev-mode service on one's own machine (a
#: production service refuses loopback; give your receiver's public https URL there).
EXAMPLE_URL = "https://localhost:8443/pana/events"
_EXAMPLE_TYPE = "rsd.decision.issued.v1"


class SubscriptionIn(BaseModel):
    event_types: list[str] = Field(min_length=1, max_length=100,
                                   description="Event types to receive, each one this service publishes "
                                               "(`GET /api/v1/webhooks/event-types`)")
    url: str = Field(min_length=8, max_length=2000,
                     description="Where events are POSTed: https; plain http to loopback in dev mode only. Private, "
                                 "loopback, link-local and metadata addresses are refused in production.")

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{
        "event_types": [_EXAMPLE_TYPE], "url": EXAMPLE_URL}]}}


class DeliveryStatus(BaseModel):
    last_success_at: Optional[datetime] = Field(None, description="When an event was last delivered")
    last_failure_at: Optional[datetime] = Field(None, description="When an attempt last failed")
    last_error: Optional[str] = Field(None, description="What the last failed attempt got (HTTP status, timeout, "
                                                        "connection error)")
    failures: int = Field(description="Failed attempts of the deliveries not yet delivered")
    backlog: int = Field(description="Deliveries waiting (pending), the next one first")
    parked: int = Field(description="Deliveries given up on after the retry schedule; replay them")
    delivered: int = Field(description="Deliveries made")


class SubscriptionOut(BaseModel):
    id: str
    event_types: list[str]
    url: str
    created_at: datetime
    status: DeliveryStatus

    model_config = {"json_schema_extra": {"examples": [{
        "id": _EXAMPLE_ID, "event_types": [_EXAMPLE_TYPE],
        "url": "https://receiver.example.gov.kz/pana/events", "created_at": "2026-12-01T09:30:00Z",
        "status": {"failures": 0, "backlog": 0, "parked": 0, "delivered": 12,
                   "last_success_at": "2026-12-01T10:02:11Z"}}]}}


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="The signing secret (Standard Webhooks, `whsec_` + base64). Shown only in this "
                                    "answer: keep it; it cannot be read again")

    model_config = {"json_schema_extra": {"examples": [{
        "id": _EXAMPLE_ID, "event_types": [_EXAMPLE_TYPE],
        "url": "https://receiver.example.gov.kz/pana/events", "created_at": "2026-12-01T09:30:00Z",
        "status": {"failures": 0, "backlog": 0, "parked": 0, "delivered": 0},
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]}}


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: Optional[str] = Field(None, description="Pass as `cursor` for the next page; absent on the last")


class DeliveryOut(BaseModel):
    id: str
    subscription_id: str
    event_id: str = Field(description="The CloudEvent id, sent as `webhook-id` on every attempt")
    event_type: str
    status: Literal["pending", "delivered", "parked"]
    attempts: int
    next_attempt_at: Optional[datetime] = Field(None, description="When a pending delivery is tried next")
    last_attempt_at: Optional[datetime] = None
    last_status: Optional[int] = Field(None, description="The receiver's last HTTP status, if it answered")
    last_error: Optional[str] = None
    created_at: datetime
    delivered_at: Optional[datetime] = None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: Optional[str] = Field(None, description="Pass as `cursor` for the next page; absent on the last")


class Replayed(BaseModel):
    replayed: int = Field(description="Parked deliveries queued again, in their original order (0: none was "
                                      "parked; a delivery already queued again stays as it is)")


class EventTypeOut(BaseModel):
    type: str
    scopes: list[str] = Field(description="Scopes a subscriber must hold to receive it")


class EventTypes(BaseModel):
    items: list[EventTypeOut]


def _service(request: Request) -> str:
    return request.app.state.definition.name


def _published_types(request: Request) -> list[str]:
    from pana_events.topics import TOPIC_BY_NAME

    return sorted(e.event_type for topic in request.app.state.definition.produces
                  for e in TOPIC_BY_NAME[topic].events) if request.app.state.definition.produces else []


async def _status(session, subscription_id: str) -> DeliveryStatus:
    rows = (await session.execute(
        select(WebhookDelivery.status, func.count(), func.sum(WebhookDelivery.attempts),
               func.max(WebhookDelivery.delivered_at), func.max(WebhookDelivery.last_attempt_at))
        .where(WebhookDelivery.subscription_id == subscription_id).group_by(WebhookDelivery.status))).all()
    counts = {r[0]: r for r in rows}
    failures = sum(int(counts[s][2] or 0) for s in (PENDING, PARKED) if s in counts)
    last_failed = (await session.execute(
        select(WebhookDelivery.last_attempt_at, WebhookDelivery.last_error)
        .where(WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.last_error.is_not(None))
        .order_by(WebhookDelivery.last_attempt_at.desc()).limit(1))).first()
    return DeliveryStatus(
        last_success_at=aware(counts[DELIVERED][3]) if DELIVERED in counts else None,
        last_failure_at=aware(last_failed[0]) if last_failed else None,
        last_error=last_failed[1] if last_failed else None, failures=failures,
        backlog=int(counts[PENDING][1]) if PENDING in counts else 0,
        parked=int(counts[PARKED][1]) if PARKED in counts else 0,
        delivered=int(counts[DELIVERED][1]) if DELIVERED in counts else 0)


async def _out(session, sub: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut(id=sub.id, event_types=list(sub.event_types), url=sub.url,
                           created_at=aware(sub.created_at), status=await _status(session, sub.id))


async def _own(session, principal: Principal, subscription_id: str) -> WebhookSubscription:
    sub = await session.get(WebhookSubscription, subscription_id)
    if sub is None or sub.owner != _owner(principal):
        raise Problem(404, "no such subscription of this client", type_suffix="not-found")
    return sub


def _owner(principal: Principal) -> str:
    return principal.client_id or principal.subject


@router.get("/event-types", response_model=EventTypes, summary="List the event types one may subscribe to",
            description="The event types this service publishes and the scopes a subscriber must hold to receive "
                        "each. Needs `webhooks:manage`.",
            responses=problem_responses(401, 403))
async def list_webhook_event_types(request: Request, principal: Principal = Depends(_manage)) -> EventTypes:
    needed = sorted(rules.scopes_to_read(_service(request)))
    return EventTypes(items=[EventTypeOut(type=t, scopes=needed) for t in _published_types(request)])


@router.post(
    "/subscriptions", status_code=201, response_model=SubscriptionCreated, response_model_exclude_none=True,
    summary="Subscribe to events",
    description="Registers a callback URL for some of this service's event types. Each event committed from now "
                "on is POSTed as a CloudEvent (structured JSON, `application/cloudevents+json`), signed as Standard "
                "Webhooks specifies (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with backoff "
                "and then parked (docs/webhooks.md). The answer carries the signing secret, once. Needs "
                "`webhooks:manage` and the read scopes of the events (403 `event_type_not_permitted` otherwise). "
                "No Idempotency-Key: its stored answer would keep the secret; a retried request makes a second "
                "subscription, which the client can delete.",
    responses=problem_responses(400, 401, 403, 422),
)
async def subscribe_webhook(body: SubscriptionIn, request: Request, response: Response,
                            principal: Principal = Depends(_manage)) -> SubscriptionCreated:
    service = _service(request)
    published = set(_published_types(request))
    unknown = sorted(set(body.event_types) - published)
    if unknown:
        raise Problem(422, f"not event types this service publishes: {', '.join(unknown)}",
                      type_suffix="validation-error",
                      errors=[{"field": "event_types", "message": f"unknown event type {t}", "code": "enum"}
                              for t in unknown])
    if not rules.may_read(service, principal.scopes):
        missing = sorted(rules.scopes_to_read(service) - principal.scopes)
        raise Problem(403, f"receiving {service}'s events needs the scopes {', '.join(missing)}",
                      type_suffix="access-denied", rule="event_type_not_permitted")
    try:
        # A host name is looked up off the event loop; an address needs no lookup (pana_kit.webhooks.check_url).
        await check_url(body.url, dev_mode=request.app.state.settings.dev_mode)
    except rules.UnacceptableUrl as exc:
        raise Problem(422, f"url: {exc}", type_suffix="validation-error",
                      errors=[{"field": "url", "message": str(exc), "code": "url"}]) from None
    subscription_id = new_id()
    secret = rules.new_secret()
    sealed = request.app.state.keyring.encrypt(secret, context=secret_context(service, subscription_id))
    sub = WebhookSubscription(id=subscription_id, owner=_owner(principal), subject=principal.subject, url=body.url,
                              event_types=sorted(set(body.event_types)),
                              scopes=sorted(rules.scopes_to_read(service) & principal.scopes), secret=sealed,
                              created_at=utcnow())
    async with request.app.state.db.transaction() as session:
        session.add(sub)
        await audit.record(session, principal, "webhook.subscribe", f"webhook_subscription/{subscription_id}",
                           service=service)
    response.headers["Location"] = f"/api/v1/webhooks/subscriptions/{subscription_id}"
    return SubscriptionCreated(id=sub.id, event_types=sub.event_types, url=sub.url, created_at=sub.created_at,
                               status=DeliveryStatus(failures=0, backlog=0, parked=0, delivered=0), secret=secret)


@router.get("/subscriptions", response_model=SubscriptionPage, response_model_exclude_none=True,
            summary="List the caller's subscriptions",
            description="The calling client's subscriptions, oldest first, cursor paginated, each with its delivery "
                        "status. Needs `webhooks:manage`.",
            responses=problem_responses(400, 401, 403, 422))
async def list_webhook_subscriptions(request: Request, principal: Principal = Depends(_manage),
                                     page: tuple = Depends(page_params)) -> SubscriptionPage:
    limit, cursor = page
    position = keyset_position(cursor)
    stmt = select(WebhookSubscription).where(WebhookSubscription.owner == _owner(principal))
    stmt = keyset_after(stmt, WebhookSubscription.created_at, WebhookSubscription.id, position)
    stmt = stmt.order_by(WebhookSubscription.created_at, WebhookSubscription.id).limit(limit + 1)
    async with request.app.state.db.session() as session:
        rows = list((await session.execute(stmt)).scalars())
        more = len(rows) > limit
        rows = rows[:limit]
        items = [await _out(session, r) for r in rows]
    return SubscriptionPage(items=items, next_cursor=keyset_cursor(aware(rows[-1].created_at), rows[-1].id)
                            if more else None)


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut, response_model_exclude_none=True,
            summary="Get a subscription and its delivery status",
            description="Last success, failed attempts, backlog and parked deliveries. Needs `webhooks:manage`; "
                        "only the subscribing client's own.",
            responses=problem_responses(401, 403, 404, 422))
async def get_webhook_subscription(request: Request, subscription_id: str = SubscriptionId,
                                   principal: Principal = Depends(_manage)) -> SubscriptionOut:
    async with request.app.state.db.session() as session:
        return await _out(session, await _own(session, principal, subscription_id))


@router.delete("/subscriptions/{subscription_id}", status_code=204, response_class=Response,
               summary="Delete a subscription",
               description="Stops deliveries at once; pending and parked deliveries are dropped. Needs "
                           "`webhooks:manage`; only the subscribing client's own. Recorded in the audit log.",
               responses=problem_responses(401, 403, 404, 422))
async def delete_webhook_subscription(request: Request, subscription_id: str = SubscriptionId,
                                      principal: Principal = Depends(_manage)) -> Response:
    async with request.app.state.db.transaction() as session:
        sub = await _own(session, principal, subscription_id)
        await session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id))
        await session.delete(sub)
        await audit.record(session, principal, "webhook.unsubscribe", f"webhook_subscription/{sub.id}",
                           service=_service(request))
    return Response(status_code=204)


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=DeliveryPage,
            response_model_exclude_none=True, summary="List a subscription's deliveries",
            description="In event order (oldest first), optionally only those of one status (`parked` to see what "
                        "to replay). Needs `webhooks:manage`.",
            responses=problem_responses(400, 401, 403, 404, 422))
async def list_webhook_deliveries(
    request: Request, subscription_id: str = SubscriptionId, principal: Principal = Depends(_manage),
    status: Optional[Literal["pending", "delivered", "parked"]] = Query(None, description="Only this status"),
    page: tuple = Depends(page_params),
) -> DeliveryPage:
    limit, cursor = page
    after = 0
    if cursor is not None:
        after = cursor.get("seq") if isinstance(cursor, dict) else None
        if not isinstance(after, int) or isinstance(after, bool):
            raise Problem(400, "the cursor is not one this service issued", type_suffix="invalid-cursor")
    async with request.app.state.db.session() as session:
        sub = await _own(session, principal, subscription_id)
        stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id, WebhookDelivery.seq > after)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        rows = list((await session.execute(stmt.order_by(WebhookDelivery.seq).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(items=[_delivery_out(r) for r in rows],
                        next_cursor=encode_cursor({"seq": rows[-1].seq}) if more else None)


def _delivery_out(r: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(id=r.id, subscription_id=r.subscription_id, event_id=r.event_id, event_type=r.event_type,
                       status=r.status, attempts=r.attempts,
                       next_attempt_at=aware(r.next_attempt_at) if r.status == PENDING else None,
                       last_attempt_at=aware(r.last_attempt_at), last_status=r.last_status, last_error=r.last_error,
                       created_at=aware(r.created_at), delivered_at=aware(r.delivered_at))


async def _replay(request: Request, principal: Principal, subscription_id: str, delivery_id: str | None) -> int:
    async with request.app.state.db.transaction() as session:
        sub = await _own(session, principal, subscription_id)
        where = [WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == PARKED]
        if delivery_id is not None:
            found = await session.get(WebhookDelivery, delivery_id)
            if found is None or found.subscription_id != sub.id:
                raise Problem(404, "no such delivery of this subscription", type_suffix="not-found")
            if found.status == DELIVERED:
                raise Problem(409, "only a parked delivery can be replayed; this one was delivered",
                              type_suffix="rule-violation", rule="replay_only_parked")
            # A pending one is queued already (a replay pressed twice, or retried after its answer was lost):
            # the state asked for holds, so the answer is 202 with nothing queued again, and its schedule is kept.
            where.append(WebhookDelivery.id == delivery_id)
        result = await session.execute(update(WebhookDelivery).where(and_(*where)).values(
            status=PENDING, attempts=0, next_attempt_at=utcnow(), lease_until=None))
        await audit.record(session, principal, "webhook.replay",
                           f"webhook_subscription/{sub.id}" + (f"/delivery/{delivery_id}" if delivery_id else ""),
                           service=_service(request))
    signal = getattr(request.app.state, "signal", None)
    if signal is not None:
        signal.notify()
    return int(result.rowcount or 0)


@router.post("/subscriptions/{subscription_id}/replay", response_model=Replayed, status_code=202,
             summary="Replay a subscription's parked deliveries",
             description="Every parked delivery of the subscription is queued again, with a fresh retry schedule, "
                         "in its original order (before the events that came after it). Needs `webhooks:manage`.",
             responses=problem_responses(401, 403, 404, 422))
async def replay_webhook_subscription(request: Request, subscription_id: str = SubscriptionId,
                                      principal: Principal = Depends(_manage)) -> Replayed:
    return Replayed(replayed=await _replay(request, principal, subscription_id, None))


@router.post("/subscriptions/{subscription_id}/deliveries/{delivery_id}/replay", response_model=Replayed,
             status_code=202, summary="Replay one parked delivery",
             description="Queues one parked delivery again with a fresh retry schedule. Idempotent: a delivery "
                         "that is pending (queued already, by an earlier replay or still in its retry schedule) is "
                         "left as it is and the answer is `{\"replayed\": 0}`; a delivered one is 409 "
                         "`replay_only_parked` (it arrived; sending it again would be a duplicate). Needs "
                         "`webhooks:manage`.",
             responses=problem_responses(401, 403, 404, 409, 422))
async def replay_webhook_delivery(request: Request, subscription_id: str = SubscriptionId,
                                  delivery_id: str = DeliveryId, principal: Principal = Depends(_manage)) -> Replayed:
    return Replayed(replayed=await _replay(request, principal, subscription_id, delivery_id))


def document_webhooks(app) -> None:
    """The examples name an event type of this service (one router serves every service): replace the generic
    one in the finished OpenAPI document."""
    generate = app.openapi
    done: dict = {"schema": None}

    def openapi() -> dict:
        if done["schema"] is not None:
            return done["schema"]
        schema = generate()
        from pana_events.topics import TOPIC_BY_NAME

        own = sorted(e.event_type for t in app.state.definition.produces for e in TOPIC_BY_NAME[t].events)
        if own:
            _replace(schema, _EXAMPLE_TYPE, own[0])
        done["schema"] = schema
        return schema

    app.openapi = openapi


def _replace(node, old: str, new: str):
    """In place: every `event_types` list holding `old` names `new` instead."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "event_types" and isinstance(value, list) and old in value:
                node[key] = [new if v == old else v for v in value]
            else:
                _replace(value, old, new)
    elif isinstance(node, list):
        for item in node:
            _replace(item, old, new)
