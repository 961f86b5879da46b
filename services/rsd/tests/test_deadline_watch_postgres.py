"""The deadline watcher on PostgreSQL, run by two instances at once (found in the load run).

Each missed deadline must be reported exactly once, and neither pass may fail: before
SKIP LOCKED both read the same batch and the second failed at save with 412.
"""

import asyncio
import uuid
from datetime import date

import pytest
from api_flows import Api, harness, lodged_id
from pana_dev.testing import module_postgres

from rsd.deadline_watch import flag_missed_deadlines

@pytest.fixture(scope="module")
def postgres():
    with module_postgres("rsd") as pg:
        yield pg


async def test_two_watchers_share_the_missed_deadlines_and_report_each_once(postgres, tmp_path):
    name = f"rsd_{uuid.uuid4().hex[:8]}"
    postgres.create_database(name)
    async with harness(tmp_path, database_url=postgres.url(name)) as h:
        api = Api(h)
        ids = {await lodged_id(api) for _ in range(12)}  # each registered long ago: deadlines missed
        counts = await asyncio.gather(*(flag_missed_deadlines(h.app.state, date.today(), batch=2) for _ in range(2)))
        missed = await h.published("rsd.deadline.missed.v1")
        reported = [(m["data"]["application_id"], m["data"]["deadline"]) for m in missed]
        assert len(reported) == len(set(reported)) == sum(counts)
        assert {application for application, _ in reported} == ids
        assert await flag_missed_deadlines(h.app.state, date.today()) == 0
