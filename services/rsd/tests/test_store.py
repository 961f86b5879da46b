"""The repository: the version-checked save and office visibility."""

import pytest
from api_flows import Api, harness, lodged_id
from pana_kit.domain import NotFound, StaleVersion

from rsd.store.repository import Applications


async def test_a_save_over_a_newer_version_is_stale_and_other_offices_see_nothing(tmp_path):
    async with harness(tmp_path) as h:
        app_id = await lodged_id(Api(h))
        async with h.app.state.db.transaction() as session:
            repo = Applications(session, h.app.state.rules)
            app, version = await repo.load(app_id)
            assert await repo.save(app, version) == version + 1
            with pytest.raises(StaleVersion):
                await repo.save(app, version)
            with pytest.raises(NotFound):
                await Applications(session, h.app.state.rules, office="nowhere").load(app_id)
