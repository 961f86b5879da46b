"""Run one service under uvicorn: `python -m <service>` calls `serve(...)`."""

from __future__ import annotations

from typing import Callable

import uvicorn
from fastapi import FastAPI

from .settings import ServiceSettings, load_settings, refuse_unsafe_start


def serve(create: Callable[[ServiceSettings], FastAPI], settings_cls: type[ServiceSettings]) -> None:
    settings = load_settings(settings_cls)  # an invalid setting refuses start, naming the variable
    refuse_unsafe_start(settings)  # so does an unsafe one outside dev mode (a plaintext broker)
    app = create(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=10, server_header=False)
