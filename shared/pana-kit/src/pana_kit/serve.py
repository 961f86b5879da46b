"""Run one service under uvicorn: `python -m <service>` calls `serve(...)`.

Production is the default. A configuration that must not start (a default or missing secret, dev mode on a
host other than loopback; `ServiceSettings.startup_problems`) exits with status 2 and the reasons, each naming
its environment variable. Dev mode says so on the first line it prints.
"""

from __future__ import annotations

import importlib
import os
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
    app = create(settings)  # once here as well: a configuration error stops the start before any worker forks
    options = dict(host=settings.host, port=settings.port, log_config=None, access_log=False,
                   timeout_graceful_shutdown=10, server_header=False)
    if settings.workers > 1:
        # uvicorn's supervisor binds the port and starts the workers (restarting one that dies); each builds its
        # own app from the same environment. Safe to share between processes (as between instances): migrations
        # (advisory lock), the relay (one leader by advisory lock, others woken by NOTIFY), consumers (one group),
        # webhook deliveries (leases), the audit chainer (its lock) and journal (a segment per process).
        os.environ[_FACTORY_ENV] = f"{_path_of(create)}|{_path_of(settings_cls)}"
        uvicorn.run("pana_kit.serve:worker_app", factory=True, workers=settings.workers, **options)
    else:
        uvicorn.run(app, **options)


_FACTORY_ENV = "PANA_SERVE_FACTORY"


def _path_of(obj) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def worker_app() -> FastAPI:
    """One worker's app (`serve` with <PREFIX>WORKERS > 1): the service's `create` and settings named by serve."""
    create_path, settings_path = os.environ[_FACTORY_ENV].split("|")

    def resolve(path: str):
        module, _, name = path.partition(":")
        return getattr(importlib.import_module(module), name)

    return resolve(create_path)(load_settings(resolve(settings_path)))
