"""`WebFetcher` on httpx: GET within an allow-list of hosts, redirects re-checked per hop.

Redirects are followed by hand so that every hop is checked against the allow-list (an
allowed host redirecting to an internal address is refused). Bodies are read up to
`max_bytes` and decoded as text; binary content is refused.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urljoin

import httpx

from domain.errors import PermissionDenied, ServiceUnavailable
from domain.tools.web import FetchedPage, host_allowed

MAX_REDIRECTS = 3


class HttpxWebFetcher:
    def __init__(
        self,
        allowed_hosts: Collection[str],
        *,
        max_bytes: int = 200_000,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.allowed_hosts = tuple(allowed_hosts)
        self.max_bytes = max_bytes
        self._client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "mai-framework http_get tool"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str) -> FetchedPage:
        for _ in range(MAX_REDIRECTS + 1):
            if not host_allowed(url, self.allowed_hosts):
                raise PermissionDenied(
                    "URL is not on the allow-list.",
                    details={"url": url, "allowed_hosts": list(self.allowed_hosts)},
                )
            try:
                async with self._client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    return await self._page(url, response)
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(
                    f"Could not fetch {url}.", details={"reason": type(exc).__name__}
                ) from exc
        raise ServiceUnavailable("Too many redirects.", details={"url": url}, retryable=False)

    async def _page(self, url: str, response: httpx.Response) -> FetchedPage:
        content_type = response.headers.get("content-type", "")
        if content_type and not content_type.startswith(
            ("text/", "application/json", "application/xml")
        ):
            raise PermissionDenied(
                "Only text content can be fetched.", details={"content_type": content_type}
            )
        body = bytearray()
        truncated = False
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > self.max_bytes:
                truncated = True
                del body[self.max_bytes :]
                break
        text = body.decode(response.encoding or "utf-8", errors="replace")
        return FetchedPage(url, response.status_code, content_type, text, truncated)
