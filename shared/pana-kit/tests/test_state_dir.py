"""What a service writes on disk goes to its state directory (`<PREFIX>STATE_DIR`), never the install directory.

An image installs the code read-only and runs as an unprivileged user: the keys dev mode generates and a
SQLite file must land in a writable directory the operator chose (a volume), or fail at start naming the
variable, instead of crashing on a root-owned `/app/var`.
"""

import pytest

from pana_dev.testing import service_harness
from pana_kit.settings import ServiceSettings, SettingsError, default_state_dir


@pytest.fixture
def outside_a_checkout(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    return work


async def test_dev_mode_writes_keys_and_sqlite_into_the_state_dir(tmp_path, outside_a_checkout):
    from registration.app import create
    from registration.settings import RegistrationSettings

    state = tmp_path / "state"
    async with service_harness(create, RegistrationSettings, tmp_path, database_url="sqlite",
                               state_dir=str(state)) as h:
        assert (await h.client.get("/readyz")).status_code == 200
    assert (state / "registration.db").is_file()
    assert (state / "registration-signing-key.pem").is_file()

    from rsd.app import create as create_rsd
    from rsd.settings import RsdSettings

    async with service_harness(create_rsd, RsdSettings, tmp_path, database_url="sqlite", state_dir=str(state)) as h:
        assert (await h.client.get("/readyz")).status_code == 200
    assert (state / "rsd.db").is_file() and (state / "rsd-keyring.json").is_file()
    assert not any(outside_a_checkout.iterdir()), "nothing is written in the working directory"


def test_the_variable_sets_it(tmp_path, monkeypatch):
    monkeypatch.setenv("RSD_STATE_DIR", str(tmp_path / "rsd-state"))
    from rsd.settings import RsdSettings

    settings = RsdSettings()
    assert settings.state_path() == tmp_path / "rsd-state" and (tmp_path / "rsd-state").is_dir()
    assert settings.resolved_database_url() == f"sqlite+aiosqlite:///{tmp_path / 'rsd-state' / 'rsd.db'}"


def test_default_outside_a_checkout_is_the_users_state_dir(tmp_path, outside_a_checkout, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "pana"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "xdg" / "pana"


def test_default_in_a_checkout_is_its_var_dir(monkeypatch):
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    monkeypatch.chdir(root / "services" / "rsd")
    assert default_state_dir() == root / "var"


def test_a_state_dir_that_cannot_be_made_refuses_naming_the_variable(tmp_path):
    from rsd.settings import RsdSettings

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SettingsError, match="RSD_STATE_DIR"):
        RsdSettings(state_dir=str(blocker / "state")).state_path()
    with pytest.raises(SettingsError, match="PANA_STATE_DIR"):
        ServiceSettings(state_dir=str(blocker / "state")).resolved_database_url()
