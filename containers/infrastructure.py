"""What every capability shares: the database and Redis clients, the services built on
them that are not any one capability's (cache, rate limiter, event bus, their health), and
the owner of background work (started and closed by `AppRuntime`).

The settings choose: `DATABASE__URL=memory://` puts the stores on the in-memory fakes,
`REDIS__URL=memory://` the cache, limiter and bus in process (`store_kind`, `cache_kind`).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from adapters.background.task_group import BackgroundTaskGroup
from adapters.inprocess.cache import InProcessCache
from adapters.inprocess.event_bus import InProcessEventBus
from adapters.inprocess.health import InProcessHealth
from adapters.inprocess.rate_limiter import InProcessRateLimiter
from adapters.settings import Settings
from containers.lazy import lazy

if TYPE_CHECKING:  # the classes, for the type checker; built lazily at run time
    from adapters.redis.cache import RedisCache
    from adapters.redis.client import RedisClient, RedisHealth
    from adapters.redis.event_bus import RedisEventBus
    from adapters.redis.rate_limiter import RedisRateLimiter
    from adapters.sql.database import Database, DatabaseHealth
else:
    RedisCache = lazy("adapters.redis.cache", "RedisCache")
    RedisHealth = lazy("adapters.redis.client", "RedisHealth")
    RedisEventBus = lazy("adapters.redis.event_bus", "RedisEventBus")
    RedisRateLimiter = lazy("adapters.redis.rate_limiter", "RedisRateLimiter")
    DatabaseHealth = lazy("adapters.sql.database", "DatabaseHealth")


def _open_database(settings: Settings) -> AbstractAsyncContextManager[Database | None]:
    """The database DATABASE__URL names; none with `memory://` (the stores are the fakes)."""
    if settings.database.backend == "memory":
        return nullcontext(None)
    from adapters.sql.resources import open_database  # SQLAlchemy: when the database opens

    return open_database(settings.database)


def _open_redis(settings: Settings) -> AbstractAsyncContextManager[RedisClient | None]:
    """The one Redis client REDIS__URL names; none with `memory://` (all in process)."""
    if settings.redis.url == "memory://":
        return nullcontext(None)
    from adapters.redis.resources import open_redis_client  # redis: only if used

    return open_redis_client(settings.redis.url)


def _store_kind(settings: Settings) -> str:
    """Where the stores live: `sql` (PostgreSQL or SQLite) or `memory` (the fakes)."""
    return "memory" if settings.database.backend == "memory" else "sql"


def _cache_kind(settings: Settings) -> str:
    """Where the cache, limiter and bus live: `redis` or `memory` (in process)."""
    return "memory" if settings.redis.url == "memory://" else "redis"


class InfrastructureContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    background_tasks = providers.Singleton(BackgroundTaskGroup)
    database = providers.Resource(_open_database, settings)
    redis_client = providers.Resource(_open_redis, settings)
    store_kind = providers.Callable(_store_kind, settings)
    cache_kind = providers.Callable(_cache_kind, settings)

    cache = providers.Selector(
        cache_kind,
        memory=providers.Singleton(InProcessCache),
        redis=providers.Singleton(RedisCache, redis_client),
    )
    rate_limiter = providers.Selector(
        cache_kind,
        memory=providers.Singleton(InProcessRateLimiter),
        redis=providers.Singleton(RedisRateLimiter, redis_client),
    )
    # Chat events (and pipeline progress) fan out to followers on every server process.
    event_bus = providers.Selector(
        cache_kind,
        memory=providers.Singleton(InProcessEventBus),
        redis=providers.Singleton(RedisEventBus, redis_client),
    )

    database_health = providers.Selector(
        store_kind,
        sql=providers.Singleton(DatabaseHealth, database),
        memory=providers.Singleton(InProcessHealth, "database", "memory"),
    )
    cache_health = providers.Selector(
        cache_kind,
        redis=providers.Singleton(RedisHealth, redis_client),
        memory=providers.Singleton(InProcessHealth, "cache", "in-process", required=False),
    )
