"""The authorities letters name come from a checked configuration file: an incomplete one refuses start."""

import pytest

from pana_kit.settings import SettingsError, load_settings
from rsd.app import create
from rsd.letters.offices import LANGUAGES, PACKAGED_OFFICES, TEXTS, OfficesError, load_offices
from rsd.settings import RsdSettings


def test_the_packaged_file_names_every_office_in_use_in_every_language():
    offices = load_offices(required=("almaty",))
    assert {"almaty", "astana", "shymkent"} <= set(offices)
    for office in offices.values():
        for name in TEXTS:
            assert all(office.text(name, lang) for lang in LANGUAGES)
    assert offices["almaty"].text("authority", "ru") == "Управление занятости и социальных программ города Алматы"


GOOD = PACKAGED_OFFICES.read_text(encoding="utf-8")


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace('address.kk = "050000, Алматы қаласы, Абай даңғылы, 90"\n', ""), "[almaty] address.kk"),
    (lambda t: t.replace('authority.ru = "Управление занятости и социальных программ города Алматы"',
                         'authority.ru = "Department of Employment"'), "authority.ru is not written in Cyrillic"),
    (lambda t: t.replace('authority.en = "Department of Employment and Social Programmes of the City of Almaty"',
                         'authority.en = "Управление"'), "authority.en has Cyrillic"),
    (lambda t: t.replace("[almaty]\nconfirmed = false", "[almaty]\nconfirmed = false\nfax = 1"), "unknown key(s) fax"),
    (lambda t: t.replace("[almaty]", "[almaty-old]"), "no office almaty"),
    (lambda t: t + "\n[broken", "offices file"),
])
def test_an_incomplete_file_is_refused_naming_what_is_wrong(tmp_path, change, message):
    path = tmp_path / "offices.toml"
    path.write_text(change(GOOD), encoding="utf-8")
    with pytest.raises(OfficesError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        load_offices(path, required=("almaty",))


def test_the_service_refuses_to_start_with_a_bad_file(tmp_path, monkeypatch):
    path = tmp_path / "offices.toml"
    path.write_text(GOOD.replace("[shymkent]", "[aktobe]"), encoding="utf-8")
    monkeypatch.setenv("RSD_LETTER_OFFICES_FILE", str(path))
    monkeypatch.setenv("RSD_DEFAULT_OFFICE", "shymkent")
    with pytest.raises(SettingsError, match="RSD_LETTER_OFFICES_FILE"):
        create(load_settings(RsdSettings))
    monkeypatch.setenv("RSD_LETTER_OFFICES_FILE", str(tmp_path / "missing.toml"))
    monkeypatch.setenv("RSD_DEFAULT_OFFICE", "almaty")
    with pytest.raises(SettingsError, match="missing.toml"):
        create(load_settings(RsdSettings))
