"""HTTP around rsd's use cases: a caller's unit of work, and the answer to a command (the
application as it now stands, with its new ETag)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import date
from typing import Any, AsyncIterator, Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse

from pana_kit.application import Outcome
from pana_kit.auth import Principal
from pana_kit.domain import utcnow
from pana_kit.service import unit_of_work

from ..domain import Application
from ..service import Caseworker
from .views import detail

COMMAND_ERRORS = (401, 403, 404, 409, 412, 422, 428)


def today() -> date:
    return utcnow().date()


@asynccontextmanager
async def caseworker(request: Request, principal: Principal) -> AsyncIterator[Caseworker]:
    """The caller acting in one unit of work (committed when the block ends)."""
    async with unit_of_work(request) as uow:
        yield Caseworker(uow, request.app.state.rules, request.app.state.keyring, principal)


async def command(request: Request, principal: Principal, use_case: Callable[..., Awaitable[Outcome[Application]]],
                  *args: Any, **kwargs: Any) -> JSONResponse:
    """Run one use case as the caller; answer with the application as it now stands and its new ETag."""
    async with caseworker(request, principal) as cw:
        done = await use_case(cw, *args, **kwargs)
    return JSONResponse(detail(done.aggregate).model_dump(mode="json"), headers={"ETag": done.etag})
