"""Run one service under uvicorn: `python -m <service>` calls `serve(...)`."""

from __future__ import annotations

from typing import Callable

import uvicorn
from fastapi import FastAPI

from .settings import ServiceSettings, load_settings


def serve(create: Callable[[ServiceSettings], FastAPI], settings_cls: type[ServiceSettings]) -> None:
    settings = load_settings(settings_cls)  # an invalid setting refuses start, naming the variable
    app = create(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=10, server_header=False)
