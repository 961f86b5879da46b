from pana_kit.migrations import run_env
from pana_kit.tables import KIT_METADATA  # kit tables: outbox, inbox, idempotency, audit
from rsd.store.tables import Base

run_env([Base.metadata, KIT_METADATA])
