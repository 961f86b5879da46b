from sqlmodel import SQLModel

import pana_kit.tables  # noqa: F401  (kit tables: outbox, inbox, idempotency, audit)
import statelessness.store.tables  # noqa: F401
from pana_kit.migrations import run_env

run_env(SQLModel.metadata)
