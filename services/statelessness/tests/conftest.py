from __future__ import annotations

from datetime import date

import pytest

from statelessness.domain import DeterminationCase, OpeningReason, StatelessnessRules

OPENED = date(2024, 1, 15)


@pytest.fixture
def rules() -> StatelessnessRules:
    return StatelessnessRules()


def _open_case(rules: StatelessnessRules, **overrides) -> DeterminationCase:
    kwargs = dict(
        case_id="case-1",
        person_id="person-1",
        reason=OpeningReason.APPLICATION,
        opened_on=OPENED,
        rules=rules,
        birth_date=date(1990, 5, 1),
        feared_states=("afg",),
    )
    kwargs.update(overrides)
    return DeterminationCase.open(**kwargs)


@pytest.fixture
def open_case():
    """Factory: open_case(rules, **overrides) opens a case on 15 Jan 2024."""
    return _open_case


@pytest.fixture
def case(rules: StatelessnessRules) -> DeterminationCase:
    c = _open_case(rules)
    c.collect_events()
    return c
