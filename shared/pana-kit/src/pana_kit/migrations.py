"""Alembic, run the same way by every service.

A service's migrations are package data, `<package>/migrations/` (env.py and versions/), found with
`importlib.resources` (`packaged_migrations`), so an installed wheel finds them as a checkout does.
Its `migrations/env.py` is two lines: import its tables, then call
`run_env(metadata)`. `upgrade(service_dir, url)` applies migrations at start-up
(one process at a time on PostgreSQL, thanks to an advisory lock).
"""

from __future__ import annotations

import asyncio
import importlib.resources
import threading
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import async_engine_from_config

_MIGRATION_LOCK_ID = 7_261_002  # arbitrary, constant: serialises concurrent start-ups


TEMPLATES = Path(__file__).parent / "templates"


def packaged_migrations(package: str) -> Path:
    """The Alembic directory shipped inside `package` (`<package>/migrations`), wherever it is installed."""
    root = importlib.resources.files(package) / "migrations"
    path = Path(str(root))
    if not isinstance(root, Path) or not (path / "env.py").is_file():
        raise RuntimeError(f"{package} carries no migrations/env.py on the file system ({root}); "
                           "install the package as a directory (a wheel), not zipped")
    return path


def alembic_config(migrations_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def make_revision(migrations_dir: Path, message: str) -> None:
    """Autogenerate a revision against a scratch SQLite database at head (`pana migrations revision`)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/scratch.db"
        template = migrations_dir / "script.py.mako"
        copied = not template.exists()
        if copied:
            shutil.copy(TEMPLATES / "script.py.mako", template)
        versions = migrations_dir / "versions"
        first = not any(versions.glob("*.py"))
        try:
            upgrade(migrations_dir, url)
            cfg = alembic_config(migrations_dir, url)
            script = command.revision(cfg, message=message, autogenerate=True,
                                      rev_id=f"{len(list(versions.glob('*.py'))) + 1:04d}")
        finally:
            if copied:
                template.unlink()
        if first:
            _add_kit_tables(Path(script.path))


def _add_kit_tables(path: Path) -> None:
    """The first migration of a service also creates the kit's tables (outbox, inbox, ...)."""
    text = path.read_text()
    text = text.replace("import sqlmodel\n", "import sqlmodel  # noqa: F401\n\nfrom pana_kit.migration_ops import create_kit_tables_v1, drop_kit_tables_v1\n", 1)
    text = text.replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    create_kit_tables_v1()\n", 1)
    path.write_text(text.rstrip() + "\n    drop_kit_tables_v1()\n")


def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    """Bring the database to `revision`; safe to call from inside a running event loop."""
    cfg = alembic_config(migrations_dir, url)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            command.upgrade(cfg, revision)
        except BaseException as exc:  # surfaced to the caller below
            errors.append(exc)

    worker = threading.Thread(target=run, name="alembic-upgrade")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


def _service_objects_only(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate ignores the kit's tables: their DDL is versioned in migration_ops."""
    from .tables import KIT_TABLES

    kit = {t.__tablename__ for t in KIT_TABLES}
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table not in kit


def run_env(target_metadata) -> None:
    """Body of every service's migrations/env.py (online and offline modes)."""
    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})"))
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          include_object=_service_objects_only)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = async_engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run_async())


def head_revisions(migrations_dir: Path) -> tuple[str, ...]:
    """The head revision(s) of a service's migrations."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config(migrations_dir, "")).get_heads())


def current_revisions(url: str) -> tuple[str, ...]:
    """The revision(s) a database is at (empty: never migrated); safe inside a running event loop."""
    from alembic.runtime.migration import MigrationContext

    found: list[tuple[str, ...]] = []
    errors: list[BaseException] = []

    async def read() -> None:
        engine = async_engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                found.append(tuple(await connection.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_heads())))
        finally:
            await engine.dispose()

    def run() -> None:
        try:
            asyncio.run(read())
        except BaseException as exc:  # surfaced to the caller below
            errors.append(exc)

    worker = threading.Thread(target=run, name="alembic-current")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return found[0]
