"""A real `mai serve` (uvicorn) in a subprocess on a free port, driven over HTTP/WS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
MAI = str(Path(sys.executable).parent / "mai")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    def mai(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the CLI against the same settings as the server."""
        result = subprocess.run(
            [MAI, *args], env=self.env, cwd=REPO, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"mai {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE__", "REDIS__", "API__", "JWT__"))
    }
    env.update(
        {
            "DATA_DIR": str(tmp_path / "data"),
            "DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'mai.db'}",
            "REDIS__URL": "memory://",
            "SECURITY__BCRYPT_ROUNDS": "4",
            "LOG__FORMAT": "json",
            "API__PORT": str(free_port()),
        }
    )
    env.update(extra)
    return env


def start_server(tmp_path: Path, env: dict[str, str]) -> Server:
    log_path = tmp_path / "server.log"
    subprocess.run(
        [MAI, "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True, timeout=120
    )
    log = log_path.open("wb")
    process = subprocess.Popen(
        [MAI, "serve"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{env['API__PORT']}"
    server = Server(base, env, process, log_path)
    deadline = time.monotonic() + 90  # generous: a loaded 2-core machine imports slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {server.log()}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"server did not start: {server.log()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = start_server(tmp_path, server_env(tmp_path))
    yield s
    stop_server(s)


def _admin(statement: str) -> None:
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from tests.conftest import PG_URL

    async def run() -> None:
        engine = create_async_engine(
            make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        try:
            async with engine.connect() as conn:
                await conn.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture
def scratch_pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for servers that must share one, dropped afterwards."""
    from uuid import uuid4

    from sqlalchemy.engine import make_url

    from tests.conftest import PG_URL

    name = f"mai_e2e_{uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_two(tmp_path: Path, database_url: str, **extra: str) -> tuple[Server, Server]:
    """Two API processes on two ports sharing one PostgreSQL database and one Redis."""
    shared = {
        "DATABASE__URL": database_url,
        "REDIS__URL": "redis://127.0.0.1:6379/14",
        "AGENTS__DIR": str(REPO / "tests" / "fixtures" / "tool_agents"),
        "TOOLS__MODULES": '["tests.fixtures.demo_tools"]',
        "TOOLS__STATE_TTL": "0.5",
        "JWT__SECRET_KEY": "e2e-shared-secret-key-0123456789abcdef0123456789",
        **extra,
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = start_server(tmp_path / "a", server_env(tmp_path / "a", **shared))
    try:
        b = start_server(tmp_path / "b", server_env(tmp_path / "b", **shared))
    except BaseException:
        stop_server(a)
        raise
    return a, b


@pytest.fixture
def two_servers(tmp_path: Path, scratch_pg_url: str) -> Iterator[tuple[Server, Server]]:
    a, b = start_two(tmp_path, scratch_pg_url)
    try:
        yield a, b
    finally:
        stop_server(a)
        stop_server(b)
