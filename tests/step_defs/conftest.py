"""BDD world: a real app driven over HTTP in-process, on the in-memory fakes by default and
on real PostgreSQL in the integration run. Steps are synchronous; async calls go through
the world's one event-loop runner."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pytest_bdd import given, parsers, then, when
from sqlalchemy import text

from adapters.sql.database import Database
from adapters.sql.migrate import upgrade
from container import Container
from entrypoints.rest.app import create_app
from tests.conftest import PG_URL, make_container, make_settings

T = TypeVar("T")
TABLES = "users, auth_sessions, conversations, messages, memories"


class World:
    """What a scenario has done so far: the service, who is signed in, the last answer."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.runner = asyncio.Runner()
        self.tokens: dict[str, dict[str, Any]] = {}
        self.previous_refresh: dict[str, str] = {}
        self.conversations: dict[tuple[str, str], str] = {}
        self.response: httpx.Response | None = None
        self._manager: LifespanManager | None = None
        self.http: httpx.AsyncClient | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def start(self) -> None:
        async def go() -> None:
            app = create_app(self.container, configure_logs=False)
            self._manager = LifespanManager(app)
            await self._manager.__aenter__()
            transport = httpx.ASGITransport(app=self._manager.app)
            self.http = httpx.AsyncClient(transport=transport, base_url="http://bdd")

        self.run(go())

    def stop(self) -> None:
        async def go() -> None:
            if self.http is not None:
                await self.http.aclose()
            if self._manager is not None:
                await self._manager.__aexit__(None, None, None)

        self.run(go())
        self.runner.close()

    def request(self, method: str, path: str, user: str | None = None, **kw: Any) -> httpx.Response:
        assert self.http is not None, "the service was not started"
        headers = dict(kw.pop("headers", {}))
        if user is not None:
            headers["Authorization"] = f"Bearer {self.tokens[user]['access_token']}"
        self.response = self.run(self.http.request(method, path, headers=headers, **kw))
        return self.response


async def _reset_postgres() -> None:
    await upgrade(PG_URL)
    db = Database.from_url(PG_URL)
    try:
        async with db.transaction() as session:
            await session.execute(text(f"TRUNCATE {TABLES} CASCADE"))
    finally:
        await db.close()


@pytest.fixture(
    autouse=True,  # autouse so that every scenario is parametrized by it
    params=["memory", pytest.param("postgres", marks=pytest.mark.integration)],
)
def backend(request: pytest.FixtureRequest) -> str:
    """Each scenario runs on the in-memory fakes, and on real PostgreSQL (integration)."""
    return str(request.param)


@pytest.fixture
def world(backend: str, tmp_path: Any) -> Iterator[World]:
    if backend == "postgres":
        settings = make_settings(tmp_path, database={"url": PG_URL})
    else:
        settings = make_settings(tmp_path)
    w = World(make_container(settings))
    if backend == "postgres":
        w.run(_reset_postgres())
    yield w
    w.stop()


# --- steps shared by every feature ----------------------------------------------------


@given("a running MAI service")
def running_service(world: World) -> None:
    world.start()


@then(parsers.parse('the answer is {status:d} with error code "{code}"'))
def answer_with_error(world: World, status: int, code: str) -> None:
    assert world.response is not None
    assert world.response.status_code == status, world.response.text
    error = world.response.json()["error"]
    assert error["code"] == code
    assert set(error) == {"code", "message", "details", "retryable"}


@then(parsers.parse("the answer is {status:d}"))
def answer_is(world: World, status: int) -> None:
    assert world.response is not None
    assert world.response.status_code == status, world.response.text


@given(parsers.parse('"{user}" has signed up with password "{password}"'))
@when(parsers.parse('"{user}" signs up with password "{password}"'))
def sign_up(world: World, user: str, password: str) -> None:
    r = world.request(
        "POST",
        "/api/v1/auth/register",
        json={"username": user, "email": f"{user}@example.com", "password": password},
    )
    assert r.status_code == 201, r.text


@given(parsers.parse('"{user}" signs in with password "{password}"'))
@when(parsers.parse('"{user}" signs in with password "{password}"'))
def sign_in(world: World, user: str, password: str) -> None:
    r = world.request("POST", "/api/v1/auth/login", json={"username": user, "password": password})
    if r.status_code == 200:
        world.tokens[user] = r.json()


from tests.step_defs.chat_steps import *  # noqa: E402, F403  (registers the chat steps)
