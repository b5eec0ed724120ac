"""Cursor pagination shared by every list a user pages through.

A cursor is an opaque token naming the last item seen by (timestamp, id); every adapter
encodes and decodes it the same way so a cursor from one page works on the next.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from domain.errors import ValidationFailed

T = TypeVar("T")

MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class Cursor:
    at: datetime
    id: UUID

    def encode(self) -> str:
        raw = f"{self.at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            at, ident = base64.urlsafe_b64decode(padded.encode()).decode().split("|", 1)
            return cls(datetime.fromisoformat(at), UUID(ident))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ValidationFailed(
                "Invalid pagination cursor.", details={"field": "after"}
            ) from None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def clamp_page_size(limit: int) -> int:
    if limit < 1:
        raise ValidationFailed("Page size must be at least 1.", details={"field": "limit"})
    return min(limit, MAX_PAGE_SIZE)
