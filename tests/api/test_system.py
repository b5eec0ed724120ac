from __future__ import annotations

import httpx


async def test_health_ready_metrics_and_docs(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]

    r = await client.get("/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["profile"] == "memory"
    assert set(body["adapters"]) == {"database", "cache", "llm", "vector_index"}

    assert (await client.get("/api/v1/health")).status_code == 200
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "MAI Framework"
    # 200 once `make web` has built Swagger UI's assets, else 503 saying how (test_web_pages)
    assert (await client.get("/docs")).status_code in (200, 503)

    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'mai_http_requests_total{method="GET",route="/health",status="200"}' in metrics.text


async def test_request_id_is_echoed_when_sane(client: httpx.AsyncClient) -> None:
    r = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/health", headers={"X-Request-ID": "bad id\twith junk"})
    assert r.headers["x-request-id"] != "bad id\twith junk"


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    r = await client.put("/health")
    assert r.status_code == 405 and r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_metrics_use_route_templates_not_raw_paths(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/conversations/6b0d0b8e-7c1a-4a52-9d6b-2b3a4f5e6d7c")
    text = (await client.get("/metrics")).text
    assert 'route="/api/v1/conversations/{conversation_id}"' in text
    assert "6b0d0b8e" not in text


async def test_oversized_and_malformed_bodies(client: httpx.AsyncClient) -> None:
    big = "x" * 2_000_000
    r = await client.post(
        "/api/v1/auth/login", content=big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    r = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_FAILED"
    r = await client.post("/api/v1/auth/login", json={"username": "a"})
    assert r.status_code == 422
    assert r.json()["error"]["details"]["errors"][0]["loc"] == ["body", "password"]


async def test_graphql_health_query(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/graphql", json={"query": "{ health { status adapters { name ok backend } } }"}
    )
    assert r.status_code == 200
    data = r.json()["data"]["health"]
    assert data["status"] == "ok"
    assert {a["name"] for a in data["adapters"]} == {"database", "cache", "llm", "vector_index"}


async def test_graphiql_is_served_in_the_browser(client: httpx.AsyncClient) -> None:
    r = await client.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 200 and "graphiql" in r.text.lower()
