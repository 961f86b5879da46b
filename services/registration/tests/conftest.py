"""The in-process registration service most tests drive: real app, real database, no broker.

It signs document QR payloads with a key of its own, and the daily coming-of-age certificate pass
is off, so no background pass runs beside a test (tests call that pass with a date of their own).
"""

from __future__ import annotations

import pytest

from pana_dev.testing import service_harness
from registration.app import create
from registration.settings import RegistrationSettings


@pytest.fixture
async def reg(tmp_path):
    async with service_harness(create, RegistrationSettings, tmp_path, signing_key_path=str(tmp_path / "signing.pem"),
                               stateless_certificate_watch_enabled=False) as harness:
        yield harness
