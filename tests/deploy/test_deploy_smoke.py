"""Deploy smoke test: the services as an operator installs them, not as the checkout runs them.

There is no container engine here, so this does what an image does, by hand:

- builds every workspace member's wheel (`uv build --wheel --all-packages`) into a temporary directory;
- installs the services' wheels, not editable, into a fresh virtual environment, their third-party
  dependencies pinned to the lock (`uv export --no-dev`), from the uv cache when it can (offline);
- copies nothing else from the repository, compiles the bytecode and makes the install read-only;
- runs each service through the launcher its image runs (`pana-service`, `pana_kit.container`);
- runs each service as an unprivileged user (`nobody` when we are root), from `/`, in production mode
  (no dev mode, no defaults for anything secret), with its own writable state directory, against
  Apache Kafka and PostgreSQL started by `pana_dev.launchers` on free ports;
- verifies tokens Keycloak issues (deploy/keycloak/pana-realm.json; officers log in with the password grant of
  the development realm), against its issuer and JWKS, as in production. Keycloak is the session's
  (`tests/conftest.py::keycloak`, started once and shared with tests/e2e/test_keycloak.py: no second start);
- walks the border-referral flow (referral -> rsd application -> asylum_seeker in registration) and
  fetches a QR code (Pillow) and a PDF decision letter (the packaged font).

It runs once per CI run (the `deploy` marker; not per stack) and prints its timings.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pana_dev.launchers.ports import free_port
from pana_dev.testing import wait_for

pytestmark = [pytest.mark.deploy, pytest.mark.e2e, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {  # distribution -> (module, env prefix)
    "registration": ("registration", "REGISTRATION_"),
    "rsd": ("rsd", "RSD_"),
    "statelessness": ("statelessness", "STATELESSNESS_"),
    "civil-registry-bridge": ("civil_registry_bridge", "BRIDGE_"),
}
LIBRARIES = ("pana-events", "pana-kit")
NOT_INSTALLED = ("pana-dev", "civil-registry-simulator")  # built (every member is), never installed
TOKEN_REUSE_S = 60.0  # a token is fetched again after this (well within the realm's access-token lifespan)
HTTP_TIMEOUT = 60.0
STEP_TIMEOUT = 180.0  # a bound on a hang on a busy two-core machine, not a pace
RUN_AS = "nobody"


def _uv() -> str:
    for candidate in (os.environ.get("UV"), shutil.which("uv"), str(Path.home() / ".local/bin/uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip("uv not found")


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _identity() -> dict:
    """Popen arguments that drop root for the unprivileged user (nothing when we are not root)."""
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam(RUN_AS)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _interpreter() -> str:
    """A Python >= 3.11 that the unprivileged user may execute (ours may sit under root's 0700 home)."""
    candidates = [sys.executable, os.path.realpath(sys.executable), sys._base_executable, "/usr/bin/python3"]
    for candidate in dict.fromkeys(c for c in candidates if c and Path(c).is_file()):
        try:
            probe = subprocess.run([candidate, "-c", "import sys; assert sys.version_info >= (3, 11)"],
                                   capture_output=True, cwd="/", **_identity())
        except OSError:  # not executable by that user
            continue
        if probe.returncode == 0:
            return candidate
    pytest.skip(f"no Python >= 3.11 that {RUN_AS} may run")


def _own(path: Path, mode: int) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam(RUN_AS)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    path.chmod(mode)


def _kafka_security(root: Path):
    """The secured broker's credentials (SASL_SSL, SCRAM-SHA-512, ACLs) when the launcher offers it, else None."""
    try:
        from pana_dev.launchers.kafka_security import KafkaSecurity
    except ImportError:
        return None
    security = KafkaSecurity(root / "kafka-security")
    security.directory.chmod(0o711)  # the services (nobody) read the CA certificate, nothing else there
    security.ca_file.chmod(0o644)
    return security


@dataclass
class Deployment:
    root: Path
    venv: Path
    keycloak: object  # pana_dev.launchers.keycloak.Keycloak
    urls: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, tuple[float, str]] = field(default_factory=dict)

    def token(self, role: str) -> str:
        """An access token Keycloak issues to the development realm's officer of `role` (password grant)."""
        from pana_dev.keycloak_realm import CONSOLE, DEV_PASSWORD, OFFICERS, dev_secret

        fetched, token = self.tokens.get(role, (0.0, ""))
        if time.monotonic() - fetched > TOKEN_REUSE_S:
            [username] = [name for name, (officer_role, _) in OFFICERS.items() if officer_role == role]
            token = self.keycloak.password_grant(CONSOLE, dev_secret(CONSOLE), username, DEV_PASSWORD)
            self.tokens[role] = (time.monotonic(), token)
        return token

    def headers(self, role: str, *, purpose: str | None = "case-work", **extra: str) -> dict[str, str]:
        h = {"Authorization": "Bearer " + self.token(role)}
        if purpose:
            h["X-Purpose"] = purpose
        h.update(extra)
        return h

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs.get(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path and path.exists() else ""

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}"

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def build_and_install(root: Path, timings: dict[str, float]) -> Path:
    uv = _uv()
    wheels = root / "wheels"
    started = time.monotonic()
    _run([uv, "build", "--wheel", "--all-packages", "--quiet", "-o", str(wheels)], cwd=ROOT)
    timings["build"] = time.monotonic() - started
    built = {re.sub(r"_", "-", w.name.split("-")[0]): w for w in wheels.glob("*.whl")}
    for name in (*LIBRARIES, *SERVICES, *NOT_INSTALLED):
        assert name in built, f"no wheel for {name}: {sorted(built)}"

    started = time.monotonic()
    # Third-party pins from the lock, exactly what `uv sync --no-dev --package <service>` installs in an image.
    pins = set()
    for service in SERVICES:
        out = _run([uv, "export", "--frozen", "--no-dev", "--package", service, "--no-hashes", "--no-header",
                    "--no-annotate", "--no-emit-workspace"], cwd=ROOT).stdout
        pins.update(line.strip() for line in out.splitlines() if line.strip() and not line.startswith(("#", "-e")))
    constraints = root / "constraints.txt"
    constraints.write_text("\n".join(sorted(pins)) + "\n")
    venv = root / "venv"
    _run([uv, "venv", "--quiet", "--python", _interpreter(), str(venv)], cwd=root)
    install = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "--compile-bytecode",
               "--constraints", str(constraints), *(str(built[n]) for n in (*LIBRARIES, *SERVICES))]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    offline = subprocess.run([*install, "--offline"], capture_output=True, text=True, cwd=root, env=env, timeout=600)
    if offline.returncode != 0:  # a cold cache: the same pins from the index
        _run(install, cwd=root, env=env)
    timings["install"] = time.monotonic() - started

    # Nothing of the checkout leaks in: no editable install, no path pointing back to the repository.
    for pth in venv.glob("lib/python*/site-packages/*.pth"):
        assert str(ROOT) not in pth.read_text(), f"{pth.name} points into the checkout"
    for name in NOT_INSTALLED:
        assert not list(venv.glob(f"lib/python*/site-packages/{name.replace('-', '_')}")), f"{name} was installed"
    # The command an image runs (Dockerfile: `pana-service`), written the same way, one per service here.
    for service in SERVICES:
        _run([str(venv / "bin" / "python"), "-m", "pana_kit.container", "write-launcher", service,
              str(venv / "bin" / f"pana-{service}")], cwd=root, env=env)
    subprocess.run(["chmod", "-R", "a-w", str(venv)], check=True)
    (root / "installed").touch()  # anything in the install newer than this was written by a running service
    return venv


@pytest.fixture(scope="module")
def deployment(keycloak):
    if not (shutil.which("java") and shutil.which("mvn")):
        pytest.skip("Apache Kafka needs java and mvn")
    from pana_dev.launchers.kafka import ApacheKafka
    from pana_dev.launchers.postgres import EmbeddedPostgres
    from pana_kit import crypto

    root = Path(tempfile.mkdtemp(prefix="pana-deploy-"))
    root.chmod(0o755)  # the unprivileged user reaches the install, PostgreSQL its data
    timings: dict[str, float] = {}
    infra: list = []
    deployment = None
    try:
        venv = build_and_install(root, timings)

        started = time.monotonic()
        security = _kafka_security(root)
        kafka = ApacheKafka(root / "kafka", start_timeout=STEP_TIMEOUT, **({"security": security} if security else {}))
        kafka.start()
        infra.append(kafka)
        postgres = EmbeddedPostgres(root / "postgres", start_timeout=STEP_TIMEOUT)
        postgres.start()
        infra.append(postgres)
        timings["infrastructure"] = time.monotonic() - started

        # Configuration an operator provides: the identity provider, keyrings, the QR signing key, writable state.
        config = root / "config"
        config.mkdir()
        config.chmod(0o755)
        qr_key = config / "registration-qr-key.pem"
        qr_key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        _own(qr_key, 0o600)
        deployment = Deployment(root=root, venv=venv, keycloak=keycloak)

        started = time.monotonic()
        for service, (_, prefix) in SERVICES.items():
            db_name = service.replace("-", "_")
            postgres.create_database(db_name)
            state = root / "state" / service
            state.mkdir(parents=True)
            _own(state, 0o700)
            keyring = config / f"{service}-keyring.json"
            crypto.rotate_file(keyring)
            _own(keyring, 0o600)
            port = free_port()
            env = {
                "PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
                f"{prefix}DEV_MODE": "false",
                f"{prefix}HOST": "127.0.0.1",
                f"{prefix}PORT": str(port),
                f"{prefix}STATE_DIR": str(state),
                f"{prefix}DATABASE_URL": postgres.dsn(db_name),
                f"{prefix}KAFKA_BOOTSTRAP": kafka.bootstrap,
                f"{prefix}AUTH_ISSUER": keycloak.issuer,
                f"{prefix}AUTH_JWKS_URL": keycloak.jwks_url,
                f"{prefix}KEYRING_FILE": str(keyring),
                f"{prefix}OTEL_ENABLED": "false",
            }
            if security is not None:  # the service logs in to the broker as itself (SASL_SSL, SCRAM-SHA-512)
                env.update(security.service_environment(service, prefix))
            else:  # a launcher without the secured broker: plain Kafka, said out loud
                env[f"{prefix}KAFKA_ALLOW_PLAINTEXT"] = "true"
            if service == "registration":
                env[f"{prefix}SIGNING_KEY_PATH"] = str(qr_key)
                env[f"{prefix}STATELESS_CERTIFICATE_WATCH_ENABLED"] = "false"
            if service == "civil-registry-bridge":  # no registry in this test: secrets of its own, never defaults
                env[f"{prefix}REGISTRY_URL"] = f"http://127.0.0.1:{free_port()}"
                env[f"{prefix}REGISTRY_API_KEY"] = uuid.uuid4().hex
                env[f"{prefix}CALLBACK_SECRET"] = uuid.uuid4().hex
            log = root / "logs" / f"{service}.log"
            log.parent.mkdir(exist_ok=True)
            with open(log, "ab") as out:
                deployment.procs[service] = subprocess.Popen(
                    [str(venv / "bin" / f"pana-{service}")], cwd="/", env=env, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **_identity())
            deployment.logs[service] = log
            deployment.urls[service] = f"http://127.0.0.1:{port}"

        def all_ready():
            deployment.check_alive()
            return all(httpx.get(url + "/readyz", timeout=5).status_code == 200 for url in deployment.urls.values())

        wait_for(all_ready, timeout=STEP_TIMEOUT, what="every service ready")
        timings["start"] = time.monotonic() - started
        deployment.timings = timings
        yield deployment
    finally:
        if deployment is not None:
            deployment.stop()
        for item in reversed(infra):
            try:
                item.stop()
            except Exception:
                pass
        print("\n[deploy smoke] timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
        if os.environ.get("PANA_TEST_KEEP"):
            print(f"[deploy smoke] kept {root}")
        else:
            subprocess.run(["chmod", "-R", "u+w", str(root)], check=False)
            shutil.rmtree(root, ignore_errors=True)


def _ok(r: httpx.Response, status: int = 200):
    assert r.status_code == status, f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:2000]}"
    return r.json() if r.headers.get("content-type", "").endswith("json") else r


def test_services_run_unprivileged_in_production_mode_from_a_read_only_install(deployment):
    for service, proc in deployment.procs.items():
        status = Path(f"/proc/{proc.pid}/status").read_text()
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
        if os.geteuid() == 0:
            assert uid == pwd.getpwnam(RUN_AS).pw_uid, f"{service} runs as uid {uid}"
        module = SERVICES[service][0]
        out = subprocess.run([str(deployment.venv / "bin" / "python"), "-c", f"import {module}; print({module}.__file__)"],
                             capture_output=True, text=True, cwd="/", env={"PATH": "/usr/bin:/bin"})
        assert out.stdout.startswith(str(deployment.venv)), out.stdout + out.stderr  # the wheel, not the checkout
        body = httpx.get(deployment.urls[service] + "/readyz", timeout=HTTP_TIMEOUT).json()
        assert body["checks"] == {"database": "ok"}, body
    # Production: a development token (HS256, the dev secret in the repository) is refused.
    from pana_kit.auth import mint_dev_token
    from pana_kit.settings import ServiceSettings

    dev = mint_dev_token(ServiceSettings(auth_issuer=deployment.keycloak.issuer), role="registration-officer")
    r = httpx.get(deployment.urls["registration"] + "/api/v1/persons", headers={"Authorization": f"Bearer {dev}"},
                  timeout=HTTP_TIMEOUT)
    assert r.status_code == 401, r.text
    # Nothing was written under the install directory.
    written = subprocess.run(["find", str(deployment.venv), "-newer", str(deployment.root / "installed")],
                             capture_output=True, text=True).stdout.split()
    assert not written, written[:10]


def test_border_referral_flow_qr_code_and_pdf_letter(deployment):
    d = deployment
    started = time.monotonic()
    referral = {"given_name": "Aziza", "family_name": "Karimova", "birth_date": "1990-04-12", "sex": "female",
                "citizenship": "AFG", "crossing_point": "Dostyk", "language": "prs", "intent": "asylum"}
    r = httpx.post(d.urls["registration"] + "/api/v1/border-referrals", json=referral,
                   headers=d.headers("border-officer", purpose=None, **{"Idempotency-Key": str(uuid.uuid4())}),
                   timeout=HTTP_TIMEOUT)
    person_id = _ok(r, 201)["person_id"]

    def application():
        d.check_alive()
        r = httpx.get(d.urls["rsd"] + "/api/v1/applications", params={"person_id": person_id},
                      headers=d.headers("eligibility-officer"), timeout=HTTP_TIMEOUT)
        return _ok(r)["items"]

    [summary] = wait_for(application, timeout=STEP_TIMEOUT, what="rsd's application for the referral")

    def asylum_seeker():
        d.check_alive()
        r = httpx.get(f"{d.urls['registration']}/api/v1/persons/{person_id}",
                      headers=d.headers("registration-officer"), timeout=HTTP_TIMEOUT)
        return _ok(r)["legal_status"] == "asylum_seeker"

    wait_for(asylum_seeker, timeout=STEP_TIMEOUT, what="asylum_seeker in registration")

    # The certificate registration issued on rsd's request, and its signed QR code (Pillow renders the PNG).
    def documents():
        r = httpx.get(f"{d.urls['registration']}/api/v1/persons/{person_id}/documents",
                      headers=d.headers("registration-officer"), timeout=HTTP_TIMEOUT)
        return _ok(r)["items"]

    [document, *_] = wait_for(documents, timeout=STEP_TIMEOUT, what="the asylum-seeker certificate")
    r = httpx.get(f"{d.urls['registration']}/api/v1/documents/{document['document_id']}/qr",
                  headers=d.headers("registration-officer", purpose="verification"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.content.startswith(b"\x89PNG\r\n\x1a\n")

    # A decision, then its letter as PDF in Kazakh (the font is the package's: no system font is needed).
    app_url = f"{d.urls['rsd']}/api/v1/applications/{summary['id']}"
    current = _ok(httpx.get(app_url, headers=d.headers("eligibility-officer"), timeout=HTTP_TIMEOUT))
    etag = [httpx.get(app_url, headers=d.headers("eligibility-officer"), timeout=HTTP_TIMEOUT).headers["ETag"]]
    member_id = current["members"][0]["id"]
    today = date.today().isoformat()

    def step(path: str, body: dict, role: str) -> dict:
        # Officers as Keycloak knows them: the recommending eligibility officer and a supervisor (four eyes).
        h = d.headers(role, purpose=None, **{"If-Match": etag[0]})
        r = httpx.post(app_url + path, json=body, headers=h, timeout=HTTP_TIMEOUT)
        answer = _ok(r)
        etag[0] = r.headers["ETag"]
        return answer

    after = step("/interviews", {"member_id": member_id, "scheduled_on": today, "interviewer_id": "eo-1",
                                 "interpreter": {"id": "int-1", "language": "prs"}}, "eligibility-officer")
    interview_id = after["interviews"][-1].get("id", "i1")
    step(f"/interviews/{interview_id}/record", {"held_on": today, "record": "the applicant's account"},
         "eligibility-officer")
    step("/assessments", {"member_id": member_id, "outside_country": True, "well_founded_fear": True,
                          "persecution": True, "nexus_grounds": ["political_opinion"], "no_state_protection": True,
                          "exclusion": []}, "eligibility-officer")
    step("/recommendation", {"outcome": "recognised"}, "eligibility-officer")
    step("/decision", {"outcome": "recognised"}, "supervisor")

    r = httpx.get(app_url + "/decision-letter", params={"lang": "kk", "format": "pdf"},
                  headers=d.headers("eligibility-officer"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        pdf = d.root / "letter.pdf"
        pdf.write_bytes(r.content)
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        # The letter names the case by the reference a person can quote (never by the record's id).
        assert summary["reference"] in text and summary["id"] not in text, text[:500]
        assert re.search(r"[ӘәҒғҚқҢңӨөҰұҮүҺһІі]", text), text[:500]
    d.timings["flow"] = time.monotonic() - started  # printed with the others when the deployment stops
