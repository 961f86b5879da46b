"""Keycloak, the identity provider, started from Python for the end-to-end tests and local runs.

Like Apache Kafka (launchers/kafka.py): no container, no download script. Maven fetches
``org.keycloak:keycloak-quarkus-dist:<version>:tar.gz`` from Maven Central once; it is unpacked under
``~/.cache/pana/keycloak-<version>`` and built once there (``kc.sh build``: H2 file database, local caches,
health), so each start is ``kc.sh start --optimized`` (production mode, HTTP on loopback only) and skips the
build. Each instance runs from its own directory (hard links to the cached build plus its own ``data/``), so
parallel test sessions never share a database, and imports ``deploy/keycloak/pana-realm.json`` at start.

    kc = Keycloak(tmp_dir)          # realm: deploy/keycloak/pana-realm.json
    kc.start()                      # waits for the realm's OpenID configuration
    kc.issuer, kc.jwks_url, kc.token_url
    kc.client_credentials("border-system", "border-system-dev-secret")
    kc.stop()

``python -m pana_dev.launchers.keycloak`` runs one in the foreground; ``... realm`` prints the realm.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import httpx

from ._repo import find_repo_file
from .kafka import _java
from .ports import LOOPBACK, free_ports
from .process import ManagedProcess

KEYCLOAK_VERSION = "26.5.6"
REALM_RELATIVE = "deploy/keycloak/pana-realm.json"
#: Build-time options (`kc.sh build`); a change rebuilds the cache.
BUILD_OPTIONS = ("--db=dev-file", "--cache=local", "--health-enabled=true")
_MARKER = ".pana-built"


def keycloak_home(version: str = KEYCLOAK_VERSION) -> Path:
    """The built distribution: ``$PANA_KEYCLOAK_HOME`` or ``~/.cache/pana/keycloak-<version>/keycloak-<version>``."""
    env = os.environ.get("PANA_KEYCLOAK_HOME")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "pana" / f"keycloak-{version}" / f"keycloak-{version}"


def _build_digest(version: str) -> str:
    return f"{version} {' '.join(BUILD_OPTIONS)}"


def ensure_keycloak(version: str = KEYCLOAK_VERSION) -> Path:
    """The built Keycloak home, fetched with Maven, unpacked and built (``kc.sh build``) the first time.

    A lock file serialises concurrent sessions; the marker holds the version and build options.
    """
    home = keycloak_home(version)
    marker = home / _MARKER
    if marker.exists() and marker.read_text().strip() == _build_digest(version):
        return home
    if os.environ.get("PANA_KEYCLOAK_HOME"):
        raise FileNotFoundError(f"PANA_KEYCLOAK_HOME={home} holds no built Keycloak {version} (no {marker})")
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FileNotFoundError("mvn is not on PATH; it is needed once to fetch Keycloak")
    cache = home.parent
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text().strip() == _build_digest(version):
            return home
        staging = Path(tempfile.mkdtemp(prefix="staging.", dir=cache))
        try:
            started = time.monotonic()
            artifact = f"org.keycloak:keycloak-quarkus-dist:{version}:tar.gz"
            proc = subprocess.run([mvn, "-q", "-B", "dependency:copy", f"-Dartifact={artifact}",
                                   f"-DoutputDirectory={staging}"], capture_output=True, text=True, cwd=staging)
            if proc.returncode != 0:
                raise RuntimeError(f"mvn failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
            archive = next(staging.glob("keycloak-quarkus-dist-*.tar.gz"))
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="tar")
            archive.unlink()
            unpacked = staging / f"keycloak-{version}"
            build = subprocess.run([str(unpacked / "bin" / "kc.sh"), "build", *BUILD_OPTIONS], capture_output=True,
                                   text=True, env={**os.environ, **_java_env()})
            if build.returncode != 0:
                raise RuntimeError(f"kc.sh build failed ({build.returncode}):\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}")
            shutil.rmtree(unpacked / "data", ignore_errors=True)  # instances bring their own
            (unpacked / _MARKER).write_text(_build_digest(version) + "\n")
            if home.exists():
                shutil.rmtree(home)
            unpacked.rename(home)
            print(f"[keycloak] fetched and built {version} in {time.monotonic() - started:.0f}s: {home}",
                  file=sys.stderr, flush=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return home


def _java_env() -> dict[str, str]:
    java = Path(_java()).resolve()
    return {"JAVA_HOME": str(java.parent.parent), "JAVA_OPTS_KC_HEAP": "-Xms64m -Xmx768m",
            # A test's Keycloak answers a few hundred requests: starting fast matters more than peak speed.
            "JAVA_OPTS_APPEND": "-XX:TieredStopAtLevel=1"}


def find_realm() -> Path | None:
    return find_repo_file(REALM_RELATIVE)


def _link_tree(source: Path, target: Path) -> None:
    """``target`` as hard links to ``source`` (a copy where links cannot be made), without ``data/``."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name in ("data", _MARKER):
            continue
        dest = target / entry.name
        if entry.is_dir():
            if subprocess.run(["cp", "-al", str(entry), str(dest)], capture_output=True).returncode != 0:
                shutil.rmtree(dest, ignore_errors=True)
                shutil.copytree(entry, dest, symlinks=True)
        else:
            shutil.copy2(entry, dest)


class Keycloak(ManagedProcess):
    """One Keycloak server in production mode on loopback, with the realm imported at start."""

    name = "keycloak"

    def __init__(self, data_dir: str | os.PathLike[str], *, port: int | None = None, realm_file: Path | None = None,
                 realm: str = "pana", start_timeout: float = 600.0, version: str = KEYCLOAK_VERSION):
        self.data_dir = Path(data_dir)
        self.port, self.management_port = (port, None) if port else (None, None)
        self.realm_file = realm_file
        self.realm = realm
        self.start_timeout = start_timeout
        self.version = version
        self.admin_password = secrets.token_urlsafe(18)
        self.started_in: float | None = None
        super().__init__(log_path=self.data_dir / "keycloak.log")

    # -- addresses ------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{self.realm}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def authorization_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/auth"

    # -- lifecycle ------------------------------------------------------------------------------------
    def command(self) -> list[str]:
        return [str(self.home / "bin" / "kc.sh"), "start", "--optimized", "--http-enabled=true",
                f"--http-host={LOOPBACK}", f"--http-port={self.port}", f"--http-management-port={self.management_port}",
                "--hostname-strict=false", "--import-realm", "--log-level=WARN,org.keycloak.services:INFO"]

    def start(self) -> "Keycloak":
        started = time.monotonic()
        built = ensure_keycloak(self.version)
        self.home = self.data_dir / f"keycloak-{self.version}"
        if not self.home.exists():
            _link_tree(built, self.home)
        realm_file = self.realm_file or find_realm()
        if realm_file is None:
            raise FileNotFoundError(f"{REALM_RELATIVE} not found; pass realm_file")
        imports = self.home / "data" / "import"
        imports.mkdir(parents=True, exist_ok=True)
        shutil.copy2(realm_file, imports / Path(realm_file).name)
        if self.port is None:
            self.port, self.management_port = free_ports(2)
        elif self.management_port is None:
            self.management_port = free_ports(1)[0]
        self.env = {**_java_env(), "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
                    "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password}
        self.start_process()
        try:
            self.wait_ready(self.start_timeout)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started
        return self

    def wait_ready(self, timeout: float) -> None:
        """Until the realm's OpenID configuration answers (the realm is imported and the server serves)."""
        deadline = time.monotonic() + timeout
        well_known = f"{self.issuer}/.well-known/openid-configuration"
        while True:
            self.check_alive()
            try:
                if httpx.get(well_known, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"keycloak did not serve {well_known} within {timeout:.0f}s; log "
                                   f"{self.log_path}:\n{self.log_tail()}")
            time.sleep(0.5)

    # -- tokens ---------------------------------------------------------------------------------------
    def client_credentials(self, client_id: str, secret: str, scope: str | None = None) -> str:
        """An access token for a calling system (OAuth2 client credentials grant)."""
        data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        if scope:
            data["scope"] = scope
        return self._token(data)

    def password_grant(self, client_id: str, secret: str, username: str, password: str) -> str:
        """An officer's access token (resource owner password grant: enabled in the development realm only)."""
        return self._token({"grant_type": "password", "client_id": client_id, "client_secret": secret,
                            "username": username, "password": password})

    def _token(self, data: dict[str, str]) -> str:
        response = httpx.post(self.token_url, data=data, timeout=60)
        if response.status_code != 200:
            raise RuntimeError(f"keycloak refused the token request ({response.status_code}): {response.text[:500]}")
        return response.json()["access_token"]

    def admin_token(self) -> str:
        response = httpx.post(f"{self.url}/realms/master/protocol/openid-connect/token", timeout=60, data={
            "grant_type": "password", "client_id": "admin-cli", "username": "admin",
            "password": self.admin_password})
        response.raise_for_status()
        return response.json()["access_token"]


def main(argv: list[str] | None = None) -> int:
    import argparse
    import signal
    import threading

    parser = argparse.ArgumentParser(prog="python -m pana_dev.launchers.keycloak")
    parser.add_argument("what", nargs="?", choices=("run", "realm"), default="run",
                        help="run: start Keycloak in the foreground; realm: print the realm (deploy/keycloak)")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.what == "realm":
        from ..keycloak_realm import realm_json

        sys.stdout.write(realm_json())
        return 0
    temp = None
    data_dir = args.data_dir
    if data_dir is None:
        temp = data_dir = Path(tempfile.mkdtemp(prefix="pana-keycloak-"))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    kc = Keycloak(data_dir, port=args.port)
    try:
        kc.start()
        print(f"keycloak ready in {kc.started_in:.0f}s: issuer {kc.issuer}\n  jwks {kc.jwks_url}\n"
              f"  admin console {kc.url}/admin (admin / {kc.admin_password})\nCtrl-C to stop", flush=True)
        while not stop.wait(0.5):
            if not kc.is_running:
                print(f"keycloak exited; log {kc.log_path}", file=sys.stderr)
                return 1
        return 0
    finally:
        kc.stop()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
