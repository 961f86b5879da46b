"""The registration service: app factory and what it consumes and publishes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from pana_events import topics_consumed_by
from pana_kit.service import ServiceDefinition, create_app

from .api import referrals
from .domain import RegistrationRules
from .settings import RegistrationSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

DESCRIPTION = """
The population register of everyone in Kazakhstan's protection procedures:
people and households (UNHCR registration groups), border referrals, identity
documents held and issued, duplicate detection, legal status (a projection of
decisions made in rsd and statelessness) and status verification for service
providers.
"""


def create(settings: RegistrationSettings | None = None) -> FastAPI:
    settings = settings or RegistrationSettings()
    rules = RegistrationRules()
    definition = ServiceDefinition(
        name="registration",
        title="Pana — registration",
        description=DESCRIPTION,
        migrations_dir=MIGRATIONS,
        routers=[referrals.router],
        produces=["registration.events"],
        consumes=topics_consumed_by("registration"),
        handlers={},
        tags=[{"name": "border referrals", "description": "People who ask for asylum at the border"}],
    )
    app = create_app(definition, settings)
    app.state.rules = rules
    return app
