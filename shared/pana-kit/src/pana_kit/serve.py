"""Run one service under uvicorn: `python -m <service>` calls `serve(...)`.

Production is the default. A configuration that must not start (a default or missing secret, dev mode on a
host other than loopback; `ServiceSettings.startup_problems`) exits with status 2 and the reasons, each naming
its environment variable. Dev mode says so on the first line it prints.
"""

from __future__ import annotations

import sys
from typing import Callable

import uvicorn
from fastapi import FastAPI

from .settings import ServiceSettings, SettingsError, load_settings


def serve(create: Callable[[ServiceSettings], FastAPI], settings_cls: type[ServiceSettings]) -> None:
    try:
        settings = load_settings(settings_cls)  # an invalid setting refuses start, naming the variable
        settings.refuse_insecure()  # so does a default secret, missing token keys or a plaintext broker outside dev mode
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    if settings.dev_mode:
        print(f"*** {settings.service_name}: DEV MODE on {settings.host}:{settings.port} (loopback only): dev tokens "
              f"from `pana token` are accepted; never run this in production ***", file=sys.stderr, flush=True)
    app = create(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=10, server_header=False)
