"""Pool usage gauges over real PostgreSQL and Redis."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from entrypoints.rest.app import create_app
from tests.conftest import PG_URL, REDIS_URL, make_container, make_settings

pytestmark = pytest.mark.integration


async def test_db_and_redis_pools_are_reported(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database={"url": PG_URL}, redis={"url": REDIS_URL})
    app = create_app(make_container(settings), configure_logs=False)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await http.get("/ready")).status_code == 200  # uses both pools
            text = (await http.get("/metrics")).text
    idle = re.search(r'mai_db_pool_connections\{state="idle"\} (\d+)', text)
    assert idle is not None and int(idle.group(1)) >= 1
    assert re.search(r'mai_db_pool_connections\{state="in_use"\} \d+', text)
    redis_idle = re.search(r'mai_redis_pool_connections\{state="idle"\} (\d+)', text)
    assert redis_idle is not None and int(redis_idle.group(1)) >= 1
