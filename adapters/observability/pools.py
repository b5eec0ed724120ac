"""Connection pool usage at scrape time: database and Redis, in use vs open.

One collector per process, registered once; `watch_pools` points it at the pools of the
resources the process opened last (the server opens them once).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from adapters.observability.metrics import REGISTRY


class PoolCollector(Collector):
    def __init__(self) -> None:
        self.engine: Any = None  # an AsyncEngine
        self.redis: Any = None  # a redis.asyncio.Redis

    def collect(self) -> Iterator[GaugeMetricFamily]:
        db = GaugeMetricFamily(
            "mai_db_pool_connections",
            "Database pool connections by state (in_use, idle, overflow).",
            labels=["state"],
        )
        pool = getattr(getattr(self.engine, "sync_engine", None), "pool", None)
        if pool is not None and hasattr(pool, "checkedout"):
            db.add_metric(["in_use"], pool.checkedout())
            db.add_metric(["idle"], pool.checkedin())
            db.add_metric(["overflow"], max(0, pool.overflow()))
        yield db
        cache = GaugeMetricFamily(
            "mai_redis_pool_connections",
            "Redis pool connections by state (in_use, idle).",
            labels=["state"],
        )
        redis_pool = getattr(self.redis, "connection_pool", None)
        if redis_pool is not None:
            cache.add_metric(["in_use"], len(getattr(redis_pool, "_in_use_connections", ())))
            cache.add_metric(["idle"], len(getattr(redis_pool, "_available_connections", ())))
        yield cache


POOLS = PoolCollector()
REGISTRY.register(POOLS)


def watch_pools(engine: Any, redis: Any) -> None:
    POOLS.engine = engine
    POOLS.redis = redis
