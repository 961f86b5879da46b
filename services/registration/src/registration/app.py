"""The registration service: app factory and what it consumes and publishes."""

from __future__ import annotations

from fastapi import FastAPI

from pana_events import topics_consumed_by
from pana_kit.crypto import sealing_at_startup
from pana_kit.migrations import packaged_migrations
from pana_kit.service import ServiceDefinition, create_app
from pana_kit.settings import load_settings

from .api import (
    births, certificates, duplicates, households, identity_documents, issued_documents, persons, referrals, search, statistics,
    verification, verification_page,
)
from .handlers import RegistrationHandlers
from .matching import load_matching_config
from .signing import load_signing_key
from .stateless_watch import stateless_certificate_watcher
from .sandbox import SANDBOX
from .settings import RegistrationSettings
from .store.repository import SEALED_AT_REST

MIGRATIONS = packaged_migrations(__package__)  # package data: found in a wheel as in a checkout

DESCRIPTION = """
The population register of everyone in Kazakhstan's protection procedures:
people and households (UNHCR registration groups), border referrals, identity
documents held and issued, duplicate detection, legal status (a projection of
decisions made in rsd and statelessness) and status verification for service
providers.
"""


# (router, route group), in the order they are mounted; REGISTRATION_ROUTE_GROUPS picks the groups an instance serves.
# Verification first: a request is matched against the routes in order, and it is the hot path (no path of
# another router overlaps its paths).
ROUTERS = [(verification.router, "verify"), (verification_page.router, "verify"), (births.router, "officers"), (duplicates.router, "officers"),
           (search.router, "officers"), (persons.router, "officers"), (identity_documents.router, "officers"),
           (issued_documents.router, "officers"), (certificates.router, "officers"), (households.router, "officers"), (referrals.router, "officers"),
           (verification.qr_router, "officers"), (statistics.router, "officers")]


def create(settings: RegistrationSettings | None = None) -> FastAPI:
    settings = settings or load_settings(RegistrationSettings)
    rules = settings.rules()  # every open rule from REGISTRATION_* (docs/domain.md); an invalid one refuses start
    groups = settings.served_groups()
    officers = "officers" in groups
    if not officers:
        # A verification instance reads the projection and appends audit entries: nothing to consume or relay.
        settings = settings.model_copy(update={"run_consumers": False, "run_outbox_relay": False})
    routers = [router for router, group in ROUTERS if group in groups]
    definition = ServiceDefinition(
        name="registration",
        title="Pana — registration",
        description=DESCRIPTION,
        migrations_dir=MIGRATIONS,
        routers=routers,
        produces=["registration.events"],
        consumes=topics_consumed_by("registration"),
        handlers=RegistrationHandlers(rules).table(),
        background=[stateless_certificate_watcher(settings.stateless_certificate_watch_interval_s,
                                                  settings.stateless_certificate_watch_batch)]
        if settings.stateless_certificate_watch_enabled and officers else [],
        tags=[
            {"name": "persons", "description": "The population register: people, their records and history"},
            {"name": "households", "description": "UNHCR registration groups and continuous registration"},
            {"name": "births", "description": "Births into households and foundlings"},
            {"name": "border referrals", "description": "People who ask for asylum at the border"},
            {"name": "verification", "description": "Document status checks and signed QR codes"},
            {"name": "duplicates", "description": "Duplicate checks, the review queue and merging records"},
            {"name": "statistics", "description": "Aggregated population figures (UNHCR conventions)"},
        ],
        encrypts=True,
        on_startup=[sealing_at_startup("registration", *SEALED_AT_REST)] if officers else [],
        sandbox=SANDBOX,
        webhooks=officers,  # a verify instance serves verification only
        hot_routes=(verification.HOT_VERIFY,),  # its well-formed checks skip FastAPI's routing (issue 16)
    )
    app = create_app(definition, settings)
    app.state.rules = rules
    app.state.matching = load_matching_config(settings.matching_config_path)
    app.state.signing_key = load_signing_key(settings.signing_key_path, settings.dev_mode,
                                            settings.state_path() if settings.dev_mode and not settings.signing_key_path else None)
    app.state.verification_failures = verification.FailureCounter(rules)
    return app
