"""The rsd service: app factory and what it consumes and publishes."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from pana_events import topics_consumed_by
from pana_kit.crypto import sealing_at_startup
from pana_kit.migrations import packaged_migrations
from pana_kit.service import ServiceDefinition, create_app
from pana_kit.settings import SettingsError, load_settings

from .api import applications, commands, letters, statistics, work
from .deadline_watch import deadline_watcher
from .handlers import RsdHandlers
from .letters.offices import OfficesError, load_offices
from .sandbox import SANDBOX
from .settings import RsdSettings
from .store.repository import SEALED_AT_REST

MIGRATIONS = packaged_migrations(__package__)  # package data: found in a wheel as in a checkout

DESCRIPTION = """
Refugee status determination under the Law "On Refugees" (No. 216-IV, Art. 11) and
UNHCR's Procedural Standards: lodging, registration, interview, assessment,
decision (four eyes), appeal, closure, reopening and ending of status.

Every step the procedure forbids is refused with **409** `application/problem+json`
naming the rule. The claim itself (narrative, interview record, assessment) never
leaves this service.
"""


async def _count_statistics(app) -> None:
    """Before serving: count in the statistics' summary every application not counted yet (stored before it existed,
    migration 0007; the members are sealed, so this needs the keyring and cannot run in the migration). Idempotent."""
    from .store.repository import Applications
    from .store.statistics import Statistics

    async with app.state.db.transaction() as session:
        counted = await Statistics(session).backfill(Applications(session, app.state.rules).application)
    if counted:
        logging.getLogger("rsd").info("counted %d stored application(s) in the statistics' summary", counted)


def create(settings: RsdSettings | None = None) -> FastAPI:
    settings = settings or load_settings(RsdSettings)
    rules = settings.rules()  # every open rule from RSD_* (docs/domain.md); an invalid one refuses start
    try:  # the authorities letters name, per office: an incomplete file refuses start
        offices = load_offices(settings.letter_offices_file, required=(settings.default_office,))
    except OfficesError as exc:
        raise SettingsError(str(exc)) from exc
    handlers = RsdHandlers(rules, settings.default_office)
    definition = ServiceDefinition(
        name="rsd",
        title="Pana — refugee status determination",
        description=DESCRIPTION,
        migrations_dir=MIGRATIONS,
        routers=[applications.router, commands.router, letters.router, work.router, statistics.router],
        produces=["rsd.events"],
        consumes=topics_consumed_by("rsd"),
        handlers=handlers.table(),
        tags=[{"name": "applications", "description": "Asylum applications and where they stand"},
              {"name": "procedure", "description": "Steps of the procedure on one application (If-Match)"},
              {"name": "work", "description": "Deadlines and work queues"},
              {"name": "statistics", "description": "Figures as UNHCR publishes them"}],
        background=[deadline_watcher(settings.deadline_watch_interval_s, settings.deadline_watch_batch)],
        encrypts=True,
        on_startup=[sealing_at_startup("rsd", *SEALED_AT_REST), _count_statistics],
        sandbox=SANDBOX,
    )
    app = create_app(definition, settings)
    app.state.rules = rules
    app.state.offices = offices
    return app
