"""Prompts over REST and GraphQL: list, render (latest or pinned), the error contract for
unknown prompts, bad variables and refused templates, auth, and a broken prompt file
stopping start-up with its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.settings import Settings
from container import Container
from domain.errors import ConfigurationError
from tests.api.conftest import running
from tests.api.test_graphql_memories import error_code, gql
from tests.api.test_memories_api import assert_error
from tests.conftest import Api, make_container, make_settings
from tests.prompt_fakes import PROMPT_FIXTURES

PROMPTS = "/api/v1/prompts"
LIST = """{ prompts { name versions latest description tags group
  variables { name type description required default } } }"""
RENDER = """query($name: String!, $variables: JSON, $version: String) {
  renderPrompt(name: $name, variables: $variables, version: $version) { name version text }
}"""


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return make_settings(tmp_path, prompts={"dir": str(PROMPT_FIXTURES)})


@pytest.fixture
async def headers(api: Api) -> dict[str, str]:
    return await api.signup("ada")


async def test_list(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await client.get(PROMPTS, headers=headers)
    assert r.status_code == 200, r.text
    greeting = next(p for p in r.json()["items"] if p["name"] == "greeting")
    assert greeting["versions"] == ["1.0.0", "1.2.0", "1.10.0", "2.0.0-beta.1"]
    assert greeting["latest"] == "1.10.0" and greeting["tags"] == ["demo"]
    assert greeting["variables"]["times"] == {
        "type": "integer",
        "description": "",
        "required": False,
        "default": 1,
    }
    assert greeting["variables"]["user"]["required"] is True


async def test_render_latest_and_pinned(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await client.post(
        f"{PROMPTS}/greeting/render", json={"variables": {"user": "ada"}}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "greeting", "version": "1.10.0", "text": "Hello ada."}
    body = {"variables": {"user": "ada"}, "version": "1.2.0"}
    r = await client.post(f"{PROMPTS}/greeting/render", json=body, headers=headers)
    assert r.json() == {"name": "greeting", "version": "1.2.0", "text": "Hi ada (1.2.0)"}


async def test_a_value_is_rendered_literally(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"variables": {"user": "{{ 7*7 }}"}, "version": "1.0.0"}
    r = await client.post(f"{PROMPTS}/greeting/render", json=body, headers=headers)
    assert r.json()["text"] == "Hello {{ 7*7 }}"


async def test_errors_follow_the_contract(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    url = f"{PROMPTS}/greeting/render"
    assert_error(
        await client.post(f"{PROMPTS}/nope/render", json={}, headers=headers),
        404,
        "PROMPT_NOT_FOUND",
    )
    r = await client.post(
        url, json={"version": "9.0.0", "variables": {"user": "a"}}, headers=headers
    )
    assert_error(r, 404, "PROMPT_NOT_FOUND")
    r = await client.post(url, json={"variables": {"times": "two", "extra": 1}}, headers=headers)
    error = assert_error(r, 422, "PROMPT_INVALID_VARIABLES")
    problems = {(p["variable"], p["problem"]) for p in error["details"]["problems"]}
    assert problems == {("user", "missing"), ("times", "wrong_type"), ("extra", "unknown")}
    r = await client.post(f"{PROMPTS}/escape-mro/render", json={}, headers=headers)
    assert_error(r, 422, "PROMPT_RENDER_FAILED")
    r = await client.post(f"{PROMPTS}/escape-multiply/render", json={}, headers=headers)
    assert_error(r, 422, "PROMPT_RENDER_FAILED")
    r = await client.post(url, json={"variables": []}, headers=headers)
    assert_error(r, 422, "VALIDATION_FAILED")


async def test_auth_is_required(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(PROMPTS), 401, "AUTHENTICATION_FAILED")
    r = await client.post(f"{PROMPTS}/greeting/render", json={"variables": {"user": "a"}})
    assert_error(r, 401, "AUTHENTICATION_FAILED")


async def test_graphql_prompts_and_render(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = await gql(client, LIST, headers)
    greeting = next(p for p in body["data"]["prompts"] if p["name"] == "greeting")
    assert greeting["latest"] == "1.10.0" and greeting["group"] == "demo"
    assert {v["name"] for v in greeting["variables"]} == {"user", "times", "excited"}
    body = await gql(
        client, RENDER, headers, name="greeting", variables={"user": "{{ 7*7 }}"}, version="1.0.0"
    )
    assert body["data"]["renderPrompt"] == {
        "name": "greeting",
        "version": "1.0.0",
        "text": "Hello {{ 7*7 }}",
    }


async def test_graphql_errors(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    assert error_code(await gql(client, RENDER, headers, name="nope")) == "PROMPT_NOT_FOUND"
    bad = await gql(client, RENDER, headers, name="greeting", variables={"user": 1})
    assert error_code(bad) == "PROMPT_INVALID_VARIABLES"
    assert error_code(await gql(client, RENDER, headers, name="greeting", variables=[1])) == (
        "PROMPT_INVALID_VARIABLES"
    )
    assert error_code(await gql(client, RENDER, headers, name="escape-str-format")) == (
        "PROMPT_RENDER_FAILED"
    )
    assert error_code(await gql(client, LIST)) == "AUTHENTICATION_FAILED"


async def test_a_broken_prompt_file_stops_start_up(tmp_path: Path) -> None:
    broken = tmp_path / "prompts" / "g" / "broken.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("version: 1.0.0\ntemplate: '{{ undeclared }}'\n")
    container: Container = make_container(
        make_settings(tmp_path, prompts={"dir": str(broken.parents[1])})
    )
    with pytest.raises(ConfigurationError) as caught:
        async with running(container):
            pass  # pragma: no cover
    assert str(broken) in caught.value.message and "undeclared" in caught.value.message
