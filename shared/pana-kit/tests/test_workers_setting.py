"""<PREFIX>WORKERS (issue 16): several worker processes per instance on PostgreSQL; SQLite stays one process."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from pana_kit import serve
from pana_kit.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: str = "demo"


def test_workers_default_to_one_process():
    assert DemoSettings(dev_mode=True).workers == 1


def test_more_than_one_worker_on_sqlite_refuses_start_naming_the_variable(tmp_path):
    settings = DemoSettings(dev_mode=True, workers=2, state_dir=str(tmp_path))
    problems = settings.startup_problems()
    assert any(p.startswith("DEMO_WORKERS=2 with SQLite") for p in problems), problems
    assert not DemoSettings(dev_mode=True, workers=1, state_dir=str(tmp_path)).startup_problems()


def test_several_workers_are_allowed_on_postgresql():
    settings = DemoSettings(dev_mode=True, workers=4, database_url="postgresql://pana@db/demo")
    assert not settings.startup_problems()


def test_each_worker_builds_the_service_from_what_serve_names(monkeypatch):
    built = []

    def create(settings):
        built.append(settings)
        return "app"

    monkeypatch.setattr(serve, "_demo_create", create, raising=False)
    monkeypatch.setenv(serve._FACTORY_ENV, f"pana_kit.serve:_demo_create|{__name__}:DemoSettings")
    monkeypatch.setenv("DEMO_DEV_MODE", "true")
    monkeypatch.setenv("DEMO_WORKERS", "3")
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://pana@db/demo")
    assert serve.worker_app() == "app"
    assert isinstance(built[0], DemoSettings) and built[0].workers == 3
