"""Which URLs the `http_get` tool may fetch: only http(s) to hosts on the allow-list."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit


def host_allowed(url: str, allowed_hosts: Collection[str]) -> bool:
    """True for an http(s) URL whose host (or host:port) is listed exactly, or whose host
    is a subdomain of an entry written as `.example.com`. No credentials in the URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return False
    host = parts.hostname.lower()
    with_port = f"{host}:{parts.port}" if parts.port else host
    for entry in (a.lower() for a in allowed_hosts):
        if entry.startswith(".") and host.endswith(entry):
            return True
        if entry in (host, with_port):
            return True
    return False


@dataclass(frozen=True, slots=True)
class FetchedPage:
    url: str
    status: int
    content_type: str
    text: str
    truncated: bool


class WebFetcher(Protocol):
    """Fetches a page over HTTP, refusing any hop (redirects included) off the allow-list."""

    async def fetch(self, url: str) -> FetchedPage: ...
