"""The verification page in a real browser (Debian's chromium through chromium-driver and Selenium).

The registration service runs for real (uvicorn on a free port, in a thread of its own with its own event
loop); the browser may reach nothing but that service (every other host name resolves to nothing). The
certificates are issued through the real flow (the events rsd and statelessness publish), printed through the
API, and their QR codes read back from the PDF with zxing: that text is what a clerk's camera would read.
In each language: the offline check of a valid code and of a tampered one (no server call), and the online
check of a valid, a revoked and an unknown document with a service provider's dev token pasted in (dev mode;
the OIDC login is checked as far as the redirect it makes, there being no identity provider here). axe-core
finds no serious or critical violation in any state. Screenshots of every state go to
test-artifacts/verification-page/ (kept by CI as artefacts, ignored by git).

Locally the tests skip when chromium, chromium-driver or poppler-utils is missing (scripts/system-deps installs
them) or npm is (axe-core); with PANA_REQUIRE_BROWSER=1 (.ci/run) they fail instead.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pana_dev.launchers.ports import free_port
from pana_dev.testing import service_harness, wait_for
from registration.app import create
from registration.settings import RegistrationSettings

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "verification-page"
BIRTH = "1988-03-21"
LANGUAGES = ("kk", "ru", "en")
WORDS = {  # what each state says, per language (the page's own strings)
    "kk": {"sig_ok": "Қолтаңба жарамды", "sig_bad": "Қолтаңба жарамсыз", "valid": "Жарамды",
           "revoked": "Қайтарып алынған", "unknown": "Белгісіз", "refugee": "босқын"},
    "ru": {"sig_ok": "Подпись действительна", "sig_bad": "Подпись недействительна", "valid": "Действителен",
           "revoked": "Отозван", "unknown": "Неизвестен", "refugee": "беженец"},
    "en": {"sig_ok": "Signature valid", "sig_bad": "Signature not valid", "valid": "Valid", "revoked": "Revoked",
           "unknown": "Unknown", "refugee": "refugee"},
}


def _unavailable(reason: str):
    if os.environ.get("PANA_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (PANA_REQUIRE_BROWSER is set: CI needs the browser tests)")
    pytest.skip(reason)


def _axe_source() -> str:
    try:
        path = subprocess.run([str(ROOT / "scripts" / "axe-core")], check=True, capture_output=True, text=True,
                              timeout=300).stdout.strip().splitlines()[-1]
    except (subprocess.CalledProcessError, FileNotFoundError, subprocess.TimeoutExpired, IndexError) as exc:
        _unavailable(f"axe-core could not be installed from npm (scripts/axe-core): {exc}")
    return Path(path).read_text(encoding="utf-8")


class Served:
    """The registration app under uvicorn, on its own event loop in a thread (the test thread drives the
    browser synchronously, so the server must not share its loop)."""

    def __init__(self, tmp: Path):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="registration-served", daemon=True)
        self.thread.start()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.harness_cm = service_harness(
            create, RegistrationSettings, tmp, signing_key_path=str(tmp / "signing.pem"),
            stateless_certificate_watch_enabled=False,
            verification_failures_before_delay=50,  # each language checks two unknown numbers
            auth_authorization_url="http://idp.pana.invalid/realms/pana/protocol/openid-connect/auth",
            auth_token_url="http://idp.pana.invalid/realms/pana/protocol/openid-connect/token")
        self.reg = self.run(self.harness_cm.__aenter__())
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(self.reg.app, host="127.0.0.1", port=self.port, lifespan="off",
                                                    log_level="warning", access_log=False))
        self.serving = asyncio.run_coroutine_threadsafe(self.server.serve(), self.loop)
        wait_for(lambda: self.server.started or self.serving.done(), timeout=60, what="uvicorn started")
        assert not self.serving.done(), self.serving.exception()

    def run(self, coroutine, timeout: float = 300):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.server.should_exit = True
        self.serving.result(60)
        self.run(self.harness_cm.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


def _qr_of(pdf: bytes, tmp: Path) -> str:
    import zxingcpp
    from PIL import Image

    (tmp / "c.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(tmp / "c.pdf"), str(tmp / "c")], check=True)
    [found] = zxingcpp.read_barcodes(Image.open(tmp / "c.png"))
    return found.text


@pytest.fixture(scope="module")
def world(tmp_path_factory, certificates_issued):
    for tool, package in (("chromium", "chromium"), ("chromedriver", "chromium-driver"),
                          ("pdftoppm", "poppler-utils")):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not installed (Debian package {package}; scripts/system-deps installs it)")
    axe = _axe_source()
    tmp = tmp_path_factory.mktemp("verification-page")
    served = Served(tmp)
    try:
        reg = served.reg
        issued = served.run(certificates_issued(reg, "page", birth_date=BIRTH))
        officer = reg.headers("registration-officer")
        pid, valid = issued["refugee_certificate"]
        # printed through the running service, read back from the PDF as a camera would
        with httpx.Client(base_url=served.base, timeout=60) as http:
            def qr(person_id, document):
                r = http.get(f"/api/v1/persons/{person_id}/documents/{document['document_id']}/certificate",
                             params={"lang": "kk", "size": "a6"}, headers=officer)
                assert r.status_code == 200, r.text
                return _qr_of(r.content, tmp)

            valid_qr = qr(pid, valid)
            revoked_pid, revoked = issued["stateless_person_certificate"]
            revoked_qr = qr(revoked_pid, revoked)
            r = http.post(f"/api/v1/persons/{revoked_pid}/documents/{revoked['document_id']}/replacement",
                          json={"reason": "stolen"}, headers={**officer, "Idempotency-Key": "page-replace-0001"})
            assert r.status_code == 201, r.text
        yield {"served": served, "axe": axe, "valid": valid, "valid_qr": valid_qr, "revoked": revoked,
               "revoked_qr": revoked_qr, "token": reg.token("service-provider")}
    finally:
        served.close()


@pytest.fixture(scope="module")
def browser(world):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-proxy-server",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps", "--disable-extensions", "--lang=en-US",
                 "--window-size=412,915",  # a phone's viewport (CSS pixels)
                 # the network is the service alone: every other host name resolves to nothing
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser, world, lang):
    base = world["served"].base
    browser.get(f"{base}/verify?lang={lang}")
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready === 'true'"), timeout=60,
             what="the page ready (key loaded)")
    assert browser.execute_script("return document.documentElement.lang") == lang


def _shot(browser, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(412, max(915, height + 120))
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    browser.set_window_size(412, 915)


def _axe(browser, world, state):
    if not browser.execute_script("return typeof window.axe === 'object'"):
        browser.execute_script(world["axe"])
    found = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then("
        "  r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        "                                    nodes: v.nodes.map(n => n.target.join(' '))}))),"
        "  e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, f"{state}: {json.dumps(serious, ensure_ascii=False, indent=1)}"


def _only_the_service(browser, world):
    base = world["served"].base
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])")
    assert all(u.startswith(base + "/") for u in urls), urls


def _no_sideways_scroll(browser):
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


def _paste(browser, text):
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.ID, "qr-text")
    box.clear()
    browser.execute_script("arguments[0].value = arguments[1]", box, text)  # a pasted code, as one edit
    calls_before = browser.execute_script("return performance.getEntriesByType('resource').length")
    browser.find_element(By.ID, "check-offline").click()
    wait_for(lambda: browser.find_element(By.ID, "offline-result").get_attribute("data-state") != "none",
             timeout=30, what="the offline result")
    # the offline check made no request
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == calls_before
    return browser.find_element(By.ID, "offline-result")


def _tamper(payload: str) -> str:
    head, body, signature = payload.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["e"] = "2099-12-31"  # a forger's longer validity
    forged = base64.urlsafe_b64encode(json.dumps(claims, ensure_ascii=False).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def _online(browser, number, birth):
    from selenium.webdriver.common.by import By

    result = browser.find_element(By.ID, "online-result")
    browser.execute_script("arguments[0].dataset.result = 'none'", result)
    field = browser.find_element(By.ID, "number")
    field.clear()
    field.send_keys(number)
    browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, "birth"), birth)
    browser.find_element(By.ID, "check-online").click()
    wait_for(lambda: result.get_attribute("data-result") != "none", timeout=30, what="the online result")
    return result


@pytest.mark.parametrize("lang", LANGUAGES)
def test_offline_check_of_a_valid_and_a_tampered_code(browser, world, lang):
    words = WORDS[lang]
    _open(browser, world, lang)
    _axe(browser, world, f"{lang} empty")
    _shot(browser, f"{lang}-start")
    result = _paste(browser, world["valid_qr"])
    assert result.get_attribute("data-state") == "valid"
    text = result.text
    for element in (words["sig_ok"], world["valid"]["number"], "Нұрлыбеков Әлихан Серікұлы",
                    "Nurlybekov Alikhan Serikuly", "21.03.1988", words["refugee"]):
        assert element in text, f"{lang}: no {element!r} in {text!r}"
    _axe(browser, world, f"{lang} offline valid")
    _no_sideways_scroll(browser)
    _shot(browser, f"{lang}-offline-valid")

    result = _paste(browser, _tamper(world["valid_qr"]))
    assert result.get_attribute("data-state") == "invalid"
    assert words["sig_bad"] in result.text and world["valid"]["number"] not in result.text
    _axe(browser, world, f"{lang} offline tampered")
    _shot(browser, f"{lang}-offline-tampered")

    # a revoked document's code still carries a good signature: offline cannot know; the page says so
    result = _paste(browser, world["revoked_qr"])
    assert result.get_attribute("data-state") == "valid"
    _only_the_service(browser, world)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_online_check_valid_revoked_and_unknown(browser, world, lang):
    from selenium.webdriver.common.by import By

    words = WORDS[lang]
    _open(browser, world, lang)
    browser.execute_script("sessionStorage.clear()")
    _open(browser, world, lang)
    assert browser.find_element(By.ID, "login").is_displayed()  # the OIDC login is offered beside the dev paste
    browser.find_element(By.ID, "token").send_keys(world["token"])
    browser.find_element(By.ID, "use-token").click()
    wait_for(lambda: browser.find_element(By.ID, "online-form").is_displayed(), timeout=30, what="logged in")

    result = _online(browser, world["valid"]["number"], BIRTH)
    assert result.get_attribute("data-result") == "valid"
    assert words["valid"] in result.text and words["refugee"] in result.text
    assert "Нұрлыбеков" not in result.text  # the online answer names nobody
    _axe(browser, world, f"{lang} online valid")
    _shot(browser, f"{lang}-online-valid")

    result = _online(browser, world["revoked"]["number"], BIRTH)
    assert result.get_attribute("data-result") == "revoked" and words["revoked"] in result.text
    _axe(browser, world, f"{lang} online revoked")
    _shot(browser, f"{lang}-online-revoked")

    result = _online(browser, world["valid"]["number"], "1990-01-01")  # the right number, another birth date
    assert result.get_attribute("data-result") == "unknown" and words["unknown"] in result.text
    result = _online(browser, "RF260000000" + _check_digit("RF260000000"), BIRTH)  # a number never issued
    assert result.get_attribute("data-result") == "unknown"
    _axe(browser, world, f"{lang} online unknown")
    _no_sideways_scroll(browser)
    _shot(browser, f"{lang}-online-unknown")
    _only_the_service(browser, world)


def test_the_login_is_an_authorization_code_request_with_pkce(browser, world):
    from selenium.webdriver.common.by import By

    _open(browser, world, "en")
    browser.execute_script("sessionStorage.clear()")
    _open(browser, world, "en")
    browser.find_element(By.ID, "login").click()
    wait_for(lambda: browser.current_url.startswith("http://idp.pana.invalid/"), timeout=30,
             what="the redirect to the identity provider")
    query = parse_qs(urlsplit(browser.current_url).query)
    assert query["response_type"] == ["code"] and query["client_id"] == ["pana-verify"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [world["served"].base + "/verify"]
    assert "registration:verify" in query["scope"][0]


def _check_digit(body: str) -> str:
    from registration.domain import check_digit

    return str(check_digit(body))
