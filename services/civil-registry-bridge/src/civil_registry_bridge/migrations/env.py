from civil_registry_bridge.store.tables import Base
from pana_kit.migrations import run_env
from pana_kit.tables import KIT_METADATA  # outbox, inbox, idempotency, audit

run_env([Base.metadata, KIT_METADATA])
