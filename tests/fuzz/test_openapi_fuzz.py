"""Schemathesis against /openapi.json, with the app in process (issue #10).

Every operation is fuzzed with schema-valid input (`positive`) and schema-violating input
(`negative`) as a registered user, then once more with its path parameters pinned: names
to real agents/tools/prompts/pipelines (so the happy paths run too) and ids to another
user's conversation/memory/approval/run (which must answer 404). Checks: no 5xx, the
response conforms to the schema (content type, body), and every error body has the
contract's shape.

The streaming endpoints (`/agents/{name}/stream`, `/v1/chat/completions` with
`stream: true`) are fuzzed too: schemathesis reads their event streams.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from entrypoints.rest.app import create_app
from tests.api.conftest import with_model
from tests.api.test_tools_api import BANKER
from tests.conftest import make_container
from tests.fuzz.conftest import assert_contract_error, fuzz_container, fuzz_settings

pytestmark = pytest.mark.slow

EXAMPLES = 20  # per operation and mode: ~30 operations × 3 runs stay well under a minute
#: Not `negative_data_rejection`: it counts a repeated query parameter (`?k=1&k=2`, which
#: FastAPI reads as the last value) as accepted invalid input, and it cannot tell that the
#: `Authorization` header it "removed" is added back by the test for every request.
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
#: Path parameters that name a shared, catalogued thing: pinned to one that exists.
NAMES = {
    "/api/v1/agents/": "banker",
    "/api/v1/tools/": "slow_square",
    "/api/v1/prompts/": "greeting",
    "/api/v1/pipelines/": "shout",
    "/v1/models/": "assistant",
    "/api/v1/evals/": "00000000-0000-0000-0000-000000000000",  # superusers only: 403 for Ada
}
#: Path parameters that are ids of a user's own thing: pinned to one of Ada's (seeded below).
OWNED_IDS = ("conversation_id", "memory_id", "approval_id", "run_id", "key_id")


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI document (building the app does no I/O)."""
    container = with_model(make_container(fuzz_settings(Path(tempfile.gettempdir()))), BANKER)
    return dict(create_app(container, configure_logs=False).openapi())


def _operations() -> list[tuple[str, str, bool]]:
    """(METHOD, path, takes input) of every documented operation."""
    paths: dict[str, dict[str, Any]] = _openapi()["paths"]
    return sorted(
        (method.upper(), path, bool(op.get("parameters") or op.get("requestBody")))
        for path, item in paths.items()
        for method, op in item.items()
        if method in HTTP_METHODS
    )


_DOCUMENTED = _operations()  # builds the app once, at collection
OPERATIONS = [(m, p) for m, p, _ in _DOCUMENTED]
WITH_PATH_PARAMS = [(m, p) for m, p in OPERATIONS if "{" in p]
# Schema-violating input exists only for operations that take some (not /health, /ready).
#: Known bug, open (see the session note on issue 16): fuzzing memory search through
#: schemathesis' ASGI portal (the app on another thread's event loop) reached
#: `LongTermMemory.retrieve` with the embedder resolved to an un-awaited Future (500), and the
#: next case hung. Not seen over uvicorn or the in-process client; skipped, not hidden.
KNOWN_BUGS: dict[tuple[str, str], str] = {}
CASES = [
    pytest.param(
        m,
        p,
        mode,
        id=f"{mode.value}-{m} {p}",
        marks=[pytest.mark.skip(reason=KNOWN_BUGS[(m, p)])] if (m, p) in KNOWN_BUGS else [],
    )
    for m, p, takes_input in _DOCUMENTED
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if takes_input or mode is GenerationMode.POSITIVE
]


@dataclass
class Target:
    app: Any
    schema: Any
    client: Any
    ada: dict[str, str]
    bob: dict[str, str]
    owned: dict[str, str] = field(default_factory=dict)  # path parameter → one of Ada's ids

    def login(self, username: str) -> dict[str, str]:
        r = self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": "password123"}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The app started by schemathesis (its own event loop thread), Ada and Bob signed up,
    and one of each of Ada's things."""
    app = create_app(fuzz_container(tmp_path_factory.mktemp("openapi")), configure_logs=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with asgi.get_client(app) as client:  # type: ignore[arg-type]
        for name in ("ada", "bob"):
            r = client.post(
                "/api/v1/auth/register",
                json={"username": name, "email": f"{name}@example.com", "password": "password123"},
            )
            assert r.status_code == 201, r.text
        t = Target(app, schema, client, ada={}, bob={})
        t.ada, t.bob = t.login("ada"), t.login("bob")
        paused = client.post(
            "/api/v1/agents/banker/run", json={"message": "transfer 5 to carol"}, headers=t.ada
        ).json()
        memory = client.post("/api/v1/memories", json={"content": "ada's"}, headers=t.ada)
        run = client.post(
            "/api/v1/pipelines/shout/run?wait=true", json={"input": "hi"}, headers=t.ada
        )
        key = client.post("/api/v1/api-keys", json={"name": "ada's"}, headers=t.ada)
        t.owned = {
            "key_id": key.json()["id"],
            "conversation_id": paused["conversation_id"],
            "approval_id": paused["pending_approval"]["id"],
            "memory_id": memory.json()["id"],
            "run_id": run.json()["id"],
        }
        yield t
    asgi.shutdown_lifespans()


def _fuzz(
    target: Target,
    method: str,
    path: str,
    mode: GenerationMode,
    headers: Callable[[], dict[str, str]],
    expect: Callable[[Any], None] | None = None,
    **pinned: Any,
) -> None:
    operation = target.schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode, **pinned)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers())
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 400 and not (path == "/ready" and response.status_code == 503):
            assert_contract_error(response.json())
        if expect is not None:
            expect(response)

    run()


def _headers(target: Target, method: str, path: str, who: str = "ada") -> Callable[[], Any]:
    if path.endswith("/auth/logout"):
        return lambda: target.login(who)  # each case ends its own session
    fixed = target.ada if who == "ada" else target.bob
    return lambda: fixed


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_operation(target: Target, method: str, path: str, mode: GenerationMode) -> None:
    _fuzz(target, method, path, mode, _headers(target, method, path))


@pytest.mark.parametrize(
    ("method", "path"), WITH_PATH_PARAMS, ids=[f"{m} {p}" for m, p in WITH_PATH_PARAMS]
)
def test_operation_on_real_names_and_other_users_ids(
    target: Target, method: str, path: str
) -> None:
    params = {n: v for n, v in target.owned.items() if "{" + n + "}" in path}
    if params:  # Bob asks for Ada's thing: it does not exist for him

        def not_found(response: Any) -> None:
            # A body the route refuses (422) is refused before any lookup, whoever owns the
            # id, so it tells Bob nothing; a valid one must answer 404.
            refused = response.status_code == 422 and "VALIDATION_FAILED" in response.text
            assert response.status_code == 404 or refused, (response.status_code, response.text)

        _fuzz(
            target,
            method,
            path,
            GenerationMode.POSITIVE,
            _headers(target, method, path, "bob"),
            expect=not_found,
            path_parameters=params,
        )
        return
    name = next((v for prefix, v in NAMES.items() if path.startswith(prefix)), None)
    assert name is not None, f"{method} {path}: add its path parameter to NAMES or OWNED_IDS"
    param = path[path.index("{") + 1 : path.index("}")]
    _fuzz(
        target,
        method,
        path,
        GenerationMode.POSITIVE,
        _headers(target, method, path),
        path_parameters={param: name},
    )


def test_every_operation_documents_its_errors() -> None:
    """So clients (and the fuzzing above) know an error's shape: every operation but the
    probes documents `4XX` with the contract's error body."""
    document = _openapi()
    undocumented = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
        and path not in ("/health", "/ready")
        and "4XX" not in operation["responses"]
    ]
    assert undocumented == [], "add responses=ERROR_RESPONSES to these routers"
    error = document["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message", "details", "retryable"}
