"""GraphQL bad input (issue #10): schemathesis-generated queries and mutations against the
Strawberry schema (in process), the query limits, and requests that fail before GraphQL
runs. No 5xx, no INTERNAL_ERROR; every GraphQL error carries an UPPER_SNAKE
`extensions.code` and the contract's error object; a transport-level refusal is a 4xx with
the contract's REST error body."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from asgi_lifespan import LifespanManager
from graphql.language import (
    BooleanValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    NameNode,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.python import asgi

from entrypoints.graphql.schema import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_TOKENS,
    build_schema,
)
from entrypoints.rest.app import create_app
from tests.fuzz.conftest import (
    assert_error_response,
    assert_graphql_errors,
    fuzz_container,
)

EXAMPLES = 20


def _fields() -> list[str]:
    """`Query.me`, `Mutation.forget`, …: every root field (subscriptions need a WebSocket)."""
    introspected = build_schema().introspect()
    by_name = {t["name"]: t for t in introspected["__schema"]["types"]}
    return sorted(
        f"{root}.{f['name']}" for root in ("Query", "Mutation") for f in by_name[root]["fields"]
    )


FIELDS = _fields()


def _json_node(value: Any) -> ValueNode:
    """A JSON value as a GraphQL literal (for the `JSON` scalar)."""
    if value is None:
        return NullValueNode()
    if isinstance(value, bool):
        return BooleanValueNode(value=value)
    if isinstance(value, int):
        return IntValueNode(value=str(value))
    if isinstance(value, float):
        return FloatValueNode(value=repr(value))
    if isinstance(value, str):
        return StringValueNode(value=value)
    if isinstance(value, list):
        return ListValueNode(values=tuple(_json_node(v) for v in value))
    fields = tuple(
        ObjectFieldNode(name=NameNode(value=k), value=_json_node(v)) for k, v in value.items()
    )
    return ObjectValueNode(fields=fields)


GRAPHQL_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(GRAPHQL_NAMES, inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def gql_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    app = create_app(fuzz_container(tmp_path_factory.mktemp("graphql")), configure_logs=False)
    schemathesis.graphql.scalar("JSON", JSON_VALUES.map(_json_node))
    schema = schemathesis.graphql.from_asgi("/graphql", app)
    with asgi.get_client(app) as client:  # type: ignore[arg-type]
        body = {"username": "ada", "email": "ada@example.com", "password": "password123"}
        assert client.post("/api/v1/auth/register", json=body).status_code == 201
        r = client.post("/api/v1/auth/login", json={"username": "ada", "password": "password123"})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        client.post("/api/v1/memories", json={"content": "something to find"}, headers=headers)
        yield schema, headers
    asgi.shutdown_lifespans()


@pytest.mark.slow
@pytest.mark.parametrize("field", FIELDS)
def test_generated_operations(gql_target: tuple[Any, dict[str, str]], field: str) -> None:
    schema, headers = gql_target
    root, name = field.split(".")
    operation = schema[root][name]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, response.text
        assert response.status_code == 200, (response.status_code, response.text)
        body = response.json()
        if body.get("errors"):
            assert_graphql_errors(body)

    run()


# --- hand-made bad input, on a started app -------------------------------------------


@pytest.fixture
async def gql(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
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


async def _post(gql: tuple[httpx.AsyncClient, dict[str, str]], query: str, **variables: Any) -> Any:
    http, headers = gql
    r = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_query_limits_give_a_clear_error(
    gql: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    # Depth: a selection nested past MAX_DEPTH (introspection types nest without end).
    deep = "{ __schema { types { " + "fields { type { " * MAX_DEPTH + "name" + " } }" * MAX_DEPTH
    deep += " } } }"
    errors = assert_graphql_errors(await _post(gql, deep), "GRAPHQL_VALIDATION_FAILED")
    assert "depth" in errors[0]["message"]
    deep = "{ conversations { items { messages { id } } } }"  # within the limit
    assert "errors" not in await _post(gql, deep)

    aliases = " ".join(f"a{i}: me {{ id }}" for i in range(MAX_ALIASES + 1))
    errors = assert_graphql_errors(await _post(gql, "{ " + aliases + " }"))
    assert "aliases" in errors[0]["message"]

    tokens = "{ me { " + " ".join(["id"] * (MAX_TOKENS + 1)) + " } }"
    errors = assert_graphql_errors(await _post(gql, tokens), "GRAPHQL_VALIDATION_FAILED")
    assert "tokens" in errors[0]["message"]

    assert_graphql_errors(await _post(gql, "{ me { "), "GRAPHQL_VALIDATION_FAILED")
    assert_graphql_errors(await _post(gql, "{ nope }"), "GRAPHQL_VALIDATION_FAILED")
    assert_graphql_errors(await _post(gql, "{ me { id } }\x00"), "GRAPHQL_VALIDATION_FAILED")


DEEP: dict[str, Any] = {"a": 1}
for _ in range(300):  # deeper than pydantic can serialize back (a stored memory broke lists)
    DEEP = {"a": DEEP}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("mutation($c: String!) { remember(content: $c) { id } }", {"c": "a\x00b"}),
        ("mutation($c: String!) { remember(content: $c) { id } }", {"c": "a\ud800b"}),
        ('mutation($m: JSON) { remember(content: "x", metadata: $m) { id } }', {"m": DEEP}),
        (
            'mutation($m: JSON) { remember(content: "x", metadata: $m) { id } }',
            {"m": {"k": "\udfff"}},
        ),
        (
            'mutation($m: String!) { sendMessage(agent: "assistant", message: $m) { output } }',
            {"m": "hi \ud800"},
        ),
        (
            'query($v: JSON) { renderPrompt(name: "greeting", variables: $v) { text } }',
            {"v": {"user": "\ud800"}},
        ),
    ],
    ids=["nul", "surrogate", "deep-metadata", "surrogate-metadata", "message", "render"],
)
async def test_arguments_no_store_can_keep_are_validation_errors(
    gql: tuple[httpx.AsyncClient, dict[str, str]], query: str, variables: dict[str, Any]
) -> None:
    http, headers = gql
    raw = json.dumps({"query": query, "variables": variables}).encode()  # surrogates escaped
    r = await http.post(
        "/graphql", content=raw, headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == 200, r.text
    assert_graphql_errors(r.json(), "VALIDATION_FAILED")
    listed = await _post(gql, "{ memories { items { id metadata } } }")
    assert "errors" not in listed and listed["data"]["memories"]["items"] == []


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"query": ', "application/json"),  # not JSON
        (b'{"query": "{ me { id } }"', "application/json"),
        (b'{"query": "\xff\xfe"}', "application/json"),  # not UTF-8
        (b"[" * 5000 + b"]" * 5000, "application/json"),  # nested past the JSON parser
        (b"null", "application/json"),
        (b"42", "application/json"),
        (b"[1, 2]", "application/json"),  # batching is off
        (b"{}", "application/json"),  # no query
        (b'{"query": 1}', "application/json"),
        (b'{"query": "{ me { id } }", "variables": [1]}', "application/json"),
        (b'{"query": "query A { me { id } }", "operationName": "B"}', "application/json"),
        (b"query { me { id } }", "text/plain"),
        (b"<query/>", "application/xml"),
        (
            b'{"query": "subscription { chat(agent: \\"assistant\\", message: \\"hi\\") '
            b'{ type } }"}',
            "application/json",
        ),
    ],
    ids=[
        "truncated",
        "unclosed",
        "not-utf8",
        "too-deep",
        "null",
        "number",
        "batch",
        "no-query",
        "query-not-string",
        "variables-not-object",
        "unknown-operation",
        "text-plain",
        "xml",
        "subscription-over-post",
    ],
)
async def test_requests_refused_before_graphql_runs_use_the_contract(
    gql: tuple[httpx.AsyncClient, dict[str, str]], content: bytes, content_type: str
) -> None:
    http, headers = gql
    r = await http.post(
        "/graphql", content=content, headers={**headers, "content-type": content_type}
    )
    assert_error_response(r, 400, "BAD_REQUEST")


async def test_a_mutation_over_get_is_refused_with_the_contract(
    gql: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, headers = gql
    params = {"query": 'mutation { forget(id: "00000000-0000-0000-0000-000000000000") }'}
    r = await http.get("/graphql", params=params, headers={**headers, "accept": "application/json"})
    assert_error_response(r, {400, 405}, None)
