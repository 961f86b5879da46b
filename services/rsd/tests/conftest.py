from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from rsd.domain import RsdRules  # noqa: E402


@pytest.fixture
def rules() -> RsdRules:
    return RsdRules()
