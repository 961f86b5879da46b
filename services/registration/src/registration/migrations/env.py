from pana_kit.migrations import run_env
from pana_kit.tables import KIT_METADATA  # outbox, inbox, idempotency, audit
from registration.store.tables import Base

run_env([Base.metadata, KIT_METADATA])
