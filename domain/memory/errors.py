"""Errors of the memory capability."""

from __future__ import annotations

from domain.errors import ServiceUnavailable


class CacheUnavailable(ServiceUnavailable):
    """The cache (Redis) cannot answer right now.

    Never fatal for a turn: everything in the cache can be rebuilt from the database, so
    a caller catches this and degrades to the database (slower, same answer).
    """

    code = "CACHE_UNAVAILABLE"
