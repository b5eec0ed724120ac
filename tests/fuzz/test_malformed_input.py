"""Malformed and oversized REST input on several routes (issue #10): never a 5xx, always the
contract's error shape, 413 past API__MAX_BODY_BYTES (with or without Content-Length), and
text no store can keep (NUL, lone surrogates, absurd nesting) refused up front."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from entrypoints.rest.app import create_app
from tests.fuzz.conftest import MAX_BODY, assert_error_response, fuzz_container

Client = tuple[httpx.AsyncClient, dict[str, str]]

#: (path, needs auth, a valid body): auth, chat run and stream, memories, tools, prompts,
#: the OpenAI-compatible chat and a pipeline run.
ROUTES: dict[str, tuple[str, bool, dict[str, Any]]] = {
    "login": ("/api/v1/auth/login", False, {"username": "ada", "password": "password123"}),
    "register": (
        "/api/v1/auth/register",
        False,
        {"username": "eve", "email": "eve@example.com", "password": "password123"},
    ),
    "run": ("/api/v1/agents/assistant/run", True, {"message": "hi"}),
    "stream": ("/api/v1/agents/assistant/stream", True, {"message": "hi"}),
    "memories": ("/api/v1/memories", True, {"content": "likes tea"}),
    "invoke": ("/api/v1/tools/calculator/invoke", True, {"args": {"expression": "1+1"}}),
    "render": ("/api/v1/prompts/greeting/render", True, {"variables": {"user": "ada"}}),
    "openai": (
        "/v1/chat/completions",
        True,
        {"model": "assistant", "messages": [{"role": "user", "content": "hi"}]},
    ),
    "pipeline": ("/api/v1/pipelines/shout/run", True, {"input": "hi"}),
}
JSON = "application/json"
MALFORMED: dict[str, tuple[bytes, str | None]] = {
    "truncated": (b'{"message": ', JSON),
    "not-utf8": (b'{"message": "\xff\xfe"}', JSON),
    "text-plain": (b"message=hi", "text/plain"),
    "form": (b"message=hi", "application/x-www-form-urlencoded"),
    "xml": (b"<message>hi</message>", "application/xml"),
    "no-content-type": (b'{"x": 1}', None),
    "array": (b"[]", JSON),
    "null": (b"null", JSON),
    "string": (b'"hi"', JSON),
    "nan": (b'{"x": NaN}', JSON),
    "too-deep-to-parse": (b"[" * 20_000 + b"]" * 20_000, JSON),
    "deep-unknown-field": (b'{"zz": ' + b'{"a":' * 400 + b"1" + b"}" * 400 + b"}", JSON),
    "surrogate-key": (b'{"\\ud800": 1}', JSON),
    "huge-number": (b'{"x": 1' + b"0" * 5000 + b"}", JSON),
    "empty": (b"", JSON),
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    app = create_app(fuzz_container(tmp_path), configure_logs=False)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            body = {"username": "ada", "email": "ada@example.com", "password": "password123"}
            assert (await http.post("/api/v1/auth/register", json=body)).status_code == 201
            r = await http.post(
                "/api/v1/auth/login", json={"username": "ada", "password": "password123"}
            )
            yield http, {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _post(
    client: Client, route: str, content: bytes, content_type: str | None
) -> httpx.Response:
    http, auth = client
    path, needs_auth, _ = ROUTES[route]
    headers = dict(auth) if needs_auth else {}
    if content_type is not None:
        headers["content-type"] = content_type
    return await http.post(path, content=content, headers=headers)


@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_malformed_bodies_are_4xx_with_the_contract(client: Client, route: str) -> None:
    for name, (content, content_type) in MALFORMED.items():
        r = await _post(client, route, content, content_type)
        assert r.status_code in {400, 413, 415, 422}, (name, r.status_code, r.text[:300])
        assert_error_response(r, r.status_code)


@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_bodies_over_the_limit_are_413(client: Client, route: str) -> None:
    _, _, valid = ROUTES[route]
    padded = {**valid, "padding": "x" * (MAX_BODY + 1)}
    r = await _post(client, route, json.dumps(padded).encode(), JSON)
    error = assert_error_response(r, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"limit": MAX_BODY}

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked transfer
        yield json.dumps(valid)[:-1].encode() + b', "padding": "'
        for _ in range(MAX_BODY // 4096 + 2):
            yield b"x" * 4096
        yield b'"}'

    http, auth = client
    path, needs_auth, _ = ROUTES[route]
    headers = {**(auth if needs_auth else {}), "content-type": JSON}
    r = await http.post(path, content=chunks(), headers=headers)
    assert "content-length" not in r.request.headers
    assert_error_response(r, 413, "PAYLOAD_TOO_LARGE")


#: A JSON body per route with `bad` (a JSON string literal) in every user text field.
def _with_text(route: str, bad: str) -> bytes:
    bodies = {
        "login": '{"username": "ada", "password": %s}',
        "register": '{"username": "eve", "email": "eve@example.com", "password": "pass1%s"}',
        "run": '{"message": %s}',
        "stream": '{"message": %s}',
        "memories": '{"content": %s}',
        "invoke": '{"args": {"expression": %s}}',
        "render": '{"variables": {"user": %s}}',
        "openai": '{"model": "assistant", "messages": [{"role": "user", "content": %s}]}',
        "pipeline": '{"input": %s}',
    }
    template = bodies[route]
    value = bad[1:-1] if '"pass1%s"' in template else bad
    return (template % value).encode()


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize(
    "bad",
    ['"a\\u0000b"', '"a\\ud800b"', '"\\udfff"', '"\\ud83d"'],
    ids=["nul", "high-surrogate", "low-surrogate", "half-emoji"],
)
async def test_text_no_store_can_keep_is_refused(client: Client, route: str, bad: str) -> None:
    r = await _post(client, route, _with_text(route, bad), JSON)
    assert_error_response(r, 422, "VALIDATION_FAILED")


@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_unicode_that_is_fine_is_accepted(client: Client, route: str) -> None:
    text = '"h\\u00e9llo \\ud83d\\ude00 \\u202e \\u200b \\ufeff \\u4e2d"'  # a real pair: 😀
    r = await _post(client, route, _with_text(route, text), JSON)
    assert r.status_code < 400 or route in {"login", "invoke"}, r.text[:300]
    if r.status_code >= 400:  # a wrong password, not arithmetic: still the contract
        assert_error_response(r, {401, 422})


async def test_deep_metadata_is_refused_and_does_not_poison_the_list(client: Client) -> None:
    http, auth = client
    deep = '{"a":' * 300 + "1" + "}" * 300
    body = ('{"content": "x", "metadata": ' + deep + "}").encode()
    r = await http.post("/api/v1/memories", content=body, headers={**auth, "content-type": JSON})
    assert_error_response(r, 422, "VALIDATION_FAILED")
    fine = {"content": "x", "metadata": {"a": {"b": {"c": [1, 2, {"d": None}]}}}}
    assert (await http.post("/api/v1/memories", json=fine, headers=auth)).status_code == 201
    r = await http.get("/api/v1/memories", headers=auth)
    assert r.status_code == 200 and len(r.json()["items"]) == 1


async def test_query_strings_paths_and_headers(client: Client) -> None:
    http, auth = client
    r = await http.get("/api/v1/memories/search", params={"q": "x" * 60_000}, headers=auth)
    assert_error_response(r, 422, "VALIDATION_FAILED")
    r = await http.get("/api/v1/conversations?" + "a=1&" * 10_000, headers=auth)
    assert r.status_code == 200
    for query in ("q=%00", "q=%ED%A0%80", "q=%FF%FE", "q=a&k=-1", "q=a&k=1e9", "q=a&mode=nope"):
        r = await http.get(f"/api/v1/memories/search?{query}", headers=auth)
        assert r.status_code in {200, 422}, (query, r.text)
        if r.status_code == 422:
            assert_error_response(r, 422, "VALIDATION_FAILED")
    for after in ("\x00" * 10, "!!!", "eyJ4IjoxfQ", "a" * 200):
        r = await http.get("/api/v1/conversations", params={"after": after}, headers=auth)
        assert_error_response(r, 422, "VALIDATION_FAILED")
    for path in (
        "/api/v1/agents/%00",
        "/api/v1/agents/%ED%A0%80",
        "/api/v1/tools/%FF",
        "/api/v1/conversations/%00",
        "/api/v1/conversations/" + "9" * 5000,
        "/api/v1/memories/../../etc/passwd",
    ):
        r = await http.get(path, headers=auth)
        assert_error_response(r, {404, 405, 422})
    for value in ("Bearer " + "a" * 60_000, "Bearer \x01\x02", "Bearer", "bearer  x y", "Basic x"):
        r = await http.get("/api/v1/users/me", headers={"Authorization": value})
        assert_error_response(r, 401, "AUTHENTICATION_FAILED")
    r = await http.get("/api/v1/users/me", headers=[(b"authorization", b"Bearer \xff\xfe")])
    assert_error_response(r, 401, "AUTHENTICATION_FAILED")
    for version in ('"\\ud800"', '"\\u0000"'):  # values an error message would echo
        body = ('{"variables": {"user": "a"}, "version": ' + version + "}").encode()
        r = await http.post(
            "/api/v1/prompts/greeting/render", content=body, headers={**auth, "content-type": JSON}
        )
        assert_error_response(r, 422, "VALIDATION_FAILED")
