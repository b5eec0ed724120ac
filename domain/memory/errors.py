"""Errors of the memory capability (the cache error is shared, kept here by its old name)."""

from __future__ import annotations

from domain.errors import CacheUnavailable

__all__ = ["CacheUnavailable"]
