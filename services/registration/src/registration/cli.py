"""registration's operator commands, added to `pana` (entry point group `pana.commands`):

  pana registration reindex-matching [--database-url URL] [--batch N]
      rebuild every person's match record and blocking keys (matching_engine.py) from the stored records, with the
      service's matching rules (REGISTRATION_MATCHING_CONFIG_PATH); run after changing the rules' blocking keys,
      and once after an upgrade that adds to the match record (the names kept normalised in it: checks work
      without, but normalise every holder they read).
      Reads only the persons' matching fields (never a sealed one): no keyring needed. Safe beside a running
      service (one transaction per batch; a person registered meanwhile is indexed by the service itself).

  pana matching train ...
      retrain the duplicate-matching model (m/u by EM) from the register (train_matching.py).
"""

from __future__ import annotations

import asyncio
import os
import time


def _reindex(args) -> int:
    from pana_kit.db import Database
    from pana_kit.settings import ENV_PREFIX

    from .matching import load_matching_config
    from .matching_engine import reindex
    from .settings import RegistrationSettings

    raw = args.database_url or os.environ.get(f"{ENV_PREFIX['registration']}DATABASE_URL") or "sqlite"
    settings = RegistrationSettings(database_url=raw)
    config = load_matching_config(settings.matching_config_path)
    started = time.perf_counter()

    def progress(done: int) -> None:
        if done % (args.batch * 50) == 0:
            print(f"  {done:,} persons re-indexed ({done / (time.perf_counter() - started):,.0f}/s)", flush=True)

    async def go() -> int:
        db = Database(settings.resolved_database_url())
        try:
            return await reindex(db, config, batch=args.batch, progress=progress)
        finally:
            await db.dispose()

    done = asyncio.run(go())
    print(f"re-indexed {done:,} persons for duplicate matching in {time.perf_counter() - started:.1f} s")
    return 0


def register(sub) -> None:
    """Add `pana registration ...` and `pana matching train` to the `pana` parser's subcommands (one entry point)."""
    registration = sub.add_parser("registration", help="registration's operator commands")
    commands = registration.add_subparsers(dest="registration_command", required=True)
    reindex = commands.add_parser("reindex-matching", help="rebuild the duplicate-matching index from the register")
    reindex.add_argument("--database-url", default=None, help="default: $REGISTRATION_DATABASE_URL, else var/")
    reindex.add_argument("--batch", type=int, default=2000)
    reindex.set_defaults(func=_reindex)

    from .train_matching import register as register_training
    register_training(sub)  # `pana matching train`
