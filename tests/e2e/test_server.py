"""The embedded profile end to end: a real server process, the CLI, HTTP."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.e2e.conftest import Server

pytestmark = [pytest.mark.e2e]


def test_serves_health_ready_docs_graphql_metrics(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        assert http.get("/health").json() == {"status": "ok"}
        ready = http.get("/ready")
        assert ready.status_code == 200 and ready.json()["profile"] == "embedded"
        assert http.get("/docs").status_code == 200
        assert http.get("/openapi.json").json()["openapi"].startswith("3.")
        assert http.get("/graphql", headers={"accept": "text/html"}).status_code == 200
        gql = http.post("/graphql", json={"query": "{ health { status } }"})
        assert gql.json()["data"]["health"]["status"] in {"ok", "degraded"}
        metrics = http.get("/metrics")
        assert metrics.status_code == 200 and "mai_http_requests_total" in metrics.text
        assert http.get("/health").headers["x-request-id"]


def test_cli_created_user_can_log_in_over_http(server: Server) -> None:
    out = server.mai(
        "users",
        "create",
        "root",
        "--email",
        "root@example.com",
        "--password",
        "password123",
        "--superuser",
    )
    assert "created superuser root" in out.stdout
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        r = http.post("/api/v1/auth/login", json={"username": "root", "password": "password123"})
        assert r.status_code == 200
        me = http.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        )
        assert me.json()["is_superuser"] is True
    dup = server.mai(
        "users",
        "create",
        "root",
        "--email",
        "x@example.com",
        "--password",
        "password123",
        check=False,
    )
    assert dup.returncode == 5 and "CONFLICT" in dup.stderr and "Traceback" not in dup.stderr


def test_logs_are_json_with_request_ids_and_no_secrets(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        http.post(
            "/api/v1/auth/register",
            json={"username": "ada", "email": "ada@example.com", "password": "s3cret-passw0rd"},
        )
        http.post(
            "/api/v1/auth/login",
            json={"username": "ada", "password": "s3cret-passw0rd"},
            headers={"X-Request-ID": "e2e-trace-1"},
        )
    deadline = time.monotonic() + 10  # the access line is written just after the response
    while True:
        log = server.log()
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        traced = [
            x
            for x in lines
            if x.get("request_id") == "e2e-trace-1" and x["event"] == "http_request"
        ]
        if traced or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "s3cret-passw0rd" not in log
    assert traced and traced[0]["route"] == "/api/v1/auth/login" and traced[0]["status"] == 200


def test_health_cli_and_bad_setting(server: Server) -> None:
    out = server.mai("health")
    assert out.stdout.splitlines()[0].startswith("database")
    env = {**server.env, "DATABASE__URL": "nonsense"}
    import subprocess

    from tests.e2e.conftest import MAI, REPO

    bad = subprocess.run(
        [MAI, "health"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 78
    assert "DATABASE__URL" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_sigterm_shuts_down_cleanly(server: Server) -> None:
    """Graceful shutdown: SIGTERM ends the process with 0 after the lifespan closed the
    resources (uvicorn's graceful period, then our shutdown)."""
    server.process.terminate()
    # uvicorn handles SIGTERM, shuts down, then re-raises the signal it caught (so the exit
    # status says why it stopped): -15 after a clean shutdown.
    assert server.process.wait(timeout=30) in (0, -15)
    log = server.log()
    assert "Application shutdown complete" in log
    assert "Traceback" not in log
