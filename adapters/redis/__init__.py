"""Redis: the cache of the production profile (conversation windows, cached values,
rate-limit counters). Everything here can be rebuilt; outages raise `CacheUnavailable`."""

from adapters.redis.client import RedisClient, RedisHealth, RedisOptions, open_redis
from adapters.redis.keys import KeyKind
from adapters.redis.window_store import RedisWindowStore

__all__ = [
    "KeyKind",
    "RedisClient",
    "RedisHealth",
    "RedisOptions",
    "RedisWindowStore",
    "open_redis",
]
