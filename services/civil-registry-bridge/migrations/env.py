from sqlmodel import SQLModel

import civil_registry_bridge.store.tables  # noqa: F401
import pana_kit.tables  # noqa: F401  (kit tables: outbox, inbox, idempotency, audit)
from pana_kit.migrations import run_env

run_env(SQLModel.metadata)
