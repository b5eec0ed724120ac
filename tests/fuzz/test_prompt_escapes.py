"""Jinja sandbox escapes over the API (issue #10): template code in a variable value is
rendered literally, never run; templates that try to escape the sandbox (fixture prompts
under tests/fixtures/prompts/escapes) answer 422 PROMPT_RENDER_FAILED, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from entrypoints.rest.app import create_app
from tests.fuzz.conftest import assert_error_response, assert_graphql_errors, fuzz_container
from tests.prompt_fakes import PROMPT_FIXTURES

ESCAPES = sorted(p.stem for p in (PROMPT_FIXTURES / "escapes").glob("escape-*.yaml"))
PAYLOADS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ self.__init__.__globals__ }}",
    "{{ lipsum.__globals__.os.popen('id').read() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ 7*7 }}",
    "{{ 7*'7' }}",
    "{{ '%s' % 'x' * 100000 }}",
    "{% raw %}{{ x }}{% endraw %}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{{",
    "{% if %}",
    "{#",
    "${7*7} #{7*7} <%= 7*7 %>",
    "{{ user }}",
]
RENDER = """query($variables: JSON, $version: String) {
  renderPrompt(name: "greeting", variables: $variables, version: $version) { text }
}"""
ESCAPE = "query($name: String!) { renderPrompt(name: $name) { text } }"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    app = create_app(fuzz_container(tmp_path), configure_logs=False)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            body = {"username": "ada", "email": "ada@example.com", "password": "password123"}
            await http.post("/api/v1/auth/register", json=body)
            r = await http.post(
                "/api/v1/auth/login", json={"username": "ada", "password": "password123"}
            )
            yield http, {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_template_code_in_a_value_is_rendered_literally(
    client: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, headers = client
    for payload in PAYLOADS:
        body = {"variables": {"user": payload}, "version": "1.0.0"}  # "Hello {{ user }}"
        r = await http.post("/api/v1/prompts/greeting/render", json=body, headers=headers)
        assert r.status_code == 200, (payload, r.text)
        assert r.json()["text"] == f"Hello {payload}"

        gql = {"query": RENDER, "variables": body}
        r = await http.post("/graphql", json=gql, headers=headers)
        assert r.json()["data"]["renderPrompt"]["text"] == f"Hello {payload}", r.text


async def test_template_code_as_a_variable_name_or_version_is_refused(
    client: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, headers = client
    url = "/api/v1/prompts/greeting/render"
    body = {"variables": {"user": "a", "{{ 7*7 }}": "x"}, "version": "1.0.0"}
    r = await http.post(url, json=body, headers=headers)
    assert_error_response(r, 422, "PROMPT_INVALID_VARIABLES")
    r = await http.post(
        url, json={"variables": {"user": "a"}, "version": "{{7*7}}"}, headers=headers
    )
    assert_error_response(r, {404, 422})
    r = await http.post("/api/v1/prompts/{{7*7}}/render", json={}, headers=headers)
    assert_error_response(r, 404, "PROMPT_NOT_FOUND")


@pytest.mark.parametrize("name", ESCAPES)
async def test_sandbox_escape_templates_fail_cleanly(
    client: tuple[httpx.AsyncClient, dict[str, str]], name: str
) -> None:
    http, headers = client
    r = await http.post(f"/api/v1/prompts/{name}/render", json={}, headers=headers)
    error = assert_error_response(r, 422, "PROMPT_RENDER_FAILED")
    assert "<class" not in error["message"] and "<function" not in error["message"]
    r = await http.post(
        "/graphql", json={"query": ESCAPE, "variables": {"name": name}}, headers=headers
    )
    assert_graphql_errors(r.json(), "PROMPT_RENDER_FAILED")
