"""Infrastructure for the cross-service tests, started once per session.

The broker is Apache Kafka when Java 17+ and Maven are present (as in CI), else
the embedded broker; the database PostgreSQL with Apache Kafka, else SQLite.
`PANA_TEST_BROKER` / `PANA_TEST_DATABASE` override. The flows also run on the
embedded broker with SQLite unless `PANA_TEST_SECOND_STACK=0`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support import chosen_broker, chosen_database  # noqa: E402

from pana_dev.stack import Stack  # noqa: E402


def pytest_report_header(config):
    return [f"pana: cross-service tests on broker={chosen_broker()} database={chosen_database()}"]


def stack_configs() -> list[tuple[str, str]]:
    primary = (chosen_broker(), chosen_database())
    configs = [primary]
    if os.environ.get("PANA_TEST_SECOND_STACK", "1") != "0" and primary != ("embedded", "sqlite"):
        configs.append(("embedded", "sqlite"))
    return configs


_stacks: dict[tuple[str, str], Stack] = {}


def _start(config: tuple[str, str], tmp_root: Path) -> Stack:
    broker, database = config
    from pana_dev.stack import SERVICES

    # Spans go to the log files too, so the privacy test can search span attributes.
    spans = {s.name: {f"{s.env_prefix}OTEL_CONSOLE_EXPORT": "true"} for s in SERVICES}
    stack = Stack(var_dir=tmp_root / f"{broker}-{database}", broker=broker, database=database,
                  simulator_env={"SIM_REGISTRATION_DELAY_S": "0.3", "SIM_RECORDS": "200"}, service_env=spans)
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    return stack


@pytest.fixture(scope="session")
def tmp_root(request) -> Path:
    """Our own directory, not under pytest's basetemp.

    PostgreSQL runs as an unprivileged user (we are root in CI) and reaches its data
    by absolute path; any pytest session that starts meanwhile resets
    /tmp/pytest-of-<user> to 0700, and the server would PANIC at its next checkpoint.
    Kept with the services' logs when a test failed or PANA_TEST_KEEP is set.
    """
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="pana-e2e-"))
    yield root
    for stack in _stacks.values():
        stack.stop()
    _stacks.clear()
    if request.session.testsfailed or os.environ.get("PANA_TEST_KEEP"):
        print(f"\n[pana] logs and data kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", params=stack_configs(), ids=lambda c: f"{c[0]}+{c[1]}")
def stack(request, tmp_root) -> Stack:
    """All four services, the simulator, a broker and a database; one per configuration.

    Stacks live until the session ends: fixtures hand out the same object, so a
    test can never be given a stack another fixture has stopped.
    """
    return _stack_for(request.param, tmp_root)


@pytest.fixture(scope="session")
def primary_stack(tmp_root) -> Stack:
    """The primary configuration (fuzzing, privacy, the broker outage)."""
    return _stack_for(stack_configs()[0], tmp_root)


def _stack_for(config: tuple[str, str], tmp_root: Path) -> Stack:
    if config not in _stacks:
        _stacks[config] = _start(config, tmp_root)
        _stacks[config].config = config
    return _stacks[config]


def pytest_sessionfinish(session, exitstatus):
    for stack in _stacks.values():
        stack.stop()
    _stacks.clear()
