"""What a service's image runs. One Dockerfile (the repository's `Dockerfile`, `--build-arg SERVICE=<name>`) builds
every service; the only thing that differs between them, beyond the wheel installed, is the service's settings
prefix (`BRIDGE_` for civil-registry-bridge), which a Dockerfile cannot derive. So the build writes a launcher,
`/opt/pana/bin/pana-service`, from the one table of prefixes (`pana_kit.settings.ENV_PREFIX`):

    python -m pana_kit.container write-launcher <service> /opt/pana/bin/pana-service

It gives the service the image's defaults (listen on 0.0.0.0:8000, write only under /var/lib/pana, the volume),
each overridable by its variable, and runs the service's module. The deploy smoke test runs the services
through the same launcher.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from .settings import ENV_PREFIX

IMAGE_DEFAULTS = {"HOST": "0.0.0.0", "PORT": "8000", "STATE_DIR": "/var/lib/pana"}


def module_of(service: str) -> str:
    """The service's Python package (`civil-registry-bridge` -> `civil_registry_bridge`)."""
    return service.replace("-", "_")


def launcher(service: str, *, python: str = "/opt/pana/bin/python", defaults: dict[str, str] | None = None) -> str:
    """The launcher script of `service` (POSIX sh): the image's defaults for its variables, then the service."""
    if service not in ENV_PREFIX:
        raise ValueError(f"unknown service {service!r}: one of {', '.join(sorted(ENV_PREFIX))}")
    prefix = ENV_PREFIX[service]
    lines = ["#!/bin/sh", f"# {service}: the image's defaults (each overridable by its variable), then the service.",
             "set -eu"]
    for name, value in (IMAGE_DEFAULTS if defaults is None else defaults).items():
        variable = f"{prefix}{name}"
        lines.append(f': "${{{variable}:={value}}}"; export {variable}')
    lines.append(f'exec {shlex.quote(python)} -m {module_of(service)} "$@"')
    return "\n".join(lines) + "\n"


def write_launcher(service: str, path: Path | str, **kw) -> Path:
    path = Path(path)
    path.write_text(launcher(service, **kw))
    path.chmod(0o755)
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "write-launcher":
        print("usage: python -m pana_kit.container write-launcher <service> <path>", file=sys.stderr)
        return 2
    write_launcher(args[1], args[2], python=os.path.join(sys.prefix, "bin", "python"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
