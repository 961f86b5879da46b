"""The statelessness service: app factory and what it consumes and publishes."""

from __future__ import annotations

from fastapi import FastAPI

from pana_events import topics_consumed_by
from pana_kit.crypto import sealing_at_startup
from pana_kit.migrations import packaged_migrations
from pana_kit.service import ServiceDefinition, create_app
from pana_kit.settings import load_settings

from .api import cases, children, naturalization, statistics
from .domain import StatelessnessRules
from .handlers import StatelessnessHandlers
from .sandbox import SANDBOX
from .settings import StatelessnessSettings
from .store.repository import SEALED_AT_REST

MIGRATIONS = packaged_migrations(__package__)  # package data: found in a wheel as in a checkout

DESCRIPTION = """
Statelessness determination under MIA Order No. 607 (2020, retitled 2024) and the UNHCR
Handbook on Protection of Stateless Persons (2014): opening on application or ex officio,
evidence (burden of proof shared), nationality inquiries to linked States, interview,
reasoned determination, extension, appeal to a different officer; prevention (children at
risk of statelessness) and reduction (facilitated naturalization).

Every step the procedure forbids is refused with **409** `application/problem+json` naming
the rule (e.g. `confidentiality_of_asylum`: a State is never asked about a person who fears
persecution by it). Evidence text and interview notes are encrypted at rest and never leave
this service in events.
"""


def rules_from(settings: StatelessnessSettings) -> StatelessnessRules:
    """Every open rule from STATELESSNESS_* (docs/domain.md); an invalid one refuses start naming the variable."""
    return settings.rules()


def create(settings: StatelessnessSettings | None = None) -> FastAPI:
    settings = settings or load_settings(StatelessnessSettings)
    rules = rules_from(settings)
    handlers = StatelessnessHandlers(rules, settings.system_officer, settings.newborn_days)
    definition = ServiceDefinition(
        name="statelessness",
        title="Pana — statelessness determination",
        description=DESCRIPTION,
        migrations_dir=MIGRATIONS,
        routers=[cases.router, cases.inquiries_router, children.router, naturalization.router, statistics.router],
        produces=["statelessness.events"],
        consumes=topics_consumed_by("statelessness"),
        handlers=handlers.table(),
        tags=[
            {"name": "cases", "description": "Statelessness determination cases, from opening to appeal"},
            {"name": "inquiries", "description": "Nationality inquiries to other States"},
            {"name": "children-at-risk", "description": "Children born in Kazakhstan at risk of statelessness"},
            {"name": "naturalization", "description": "Facilitated naturalization of recognised stateless residents"},
            {"name": "statistics", "description": "Aggregates by UNHCR conventions, small cells masked"},
        ],
        encrypts=True,
        on_startup=[sealing_at_startup("statelessness", *SEALED_AT_REST)],
        sandbox=SANDBOX,
    )
    app = create_app(definition, settings)
    app.state.rules = rules
    handlers.keyring = app.state.keyring
    return app
