"""/pipelines over REST and GraphQL (runs at once or waited for, events, isolation)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from adapters.settings import Settings
from container import Container
from entrypoints.rest.app import create_app
from tests.conftest import Api, make_settings

PIPELINES = Path(__file__).parent.parent / "fixtures" / "pipelines"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, pipelines={"dir": str(PIPELINES)})


async def test_pipelines_are_listed_with_their_dag(api: Api, client: httpx.AsyncClient) -> None:
    ada = await api.signup("ada")
    r = await client.get("/api/v1/pipelines", headers=ada)
    assert r.status_code == 200
    found = {p["name"]: p for p in r.json()["items"]}
    assert set(found) == {"shout", "fan-out-fan-in"}
    assert found["shout"]["mermaid"].startswith("graph TD")
    assert found["fan-out-fan-in"]["definition"]["mode"] == "dag"
    assert (await client.get("/api/v1/pipelines/nope", headers=ada)).status_code == 404
    assert (await client.get("/api/v1/pipelines")).status_code == 401


async def test_a_run_waited_for_and_a_run_started_at_once(
    api: Api, client: httpx.AsyncClient
) -> None:
    ada = await api.signup("ada")
    docs = ["one two three", "four five", "six"]
    r = await client.post(
        "/api/v1/pipelines/fan-out-fan-in/run?wait=true", json={"input": docs}, headers=ada
    )
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "succeeded", run
    assert run["output"]["words"] == 6
    assert {s["status"] for s in run["stages"].values()} == {"succeeded"}

    r = await client.post("/api/v1/pipelines/shout/run", json={"input": "hey"}, headers=ada)
    assert r.status_code == 202 and r.json()["status"] == "running"
    run_id = r.json()["id"]
    for _ in range(100):
        run = (await client.get(f"/api/v1/pipelines/runs/{run_id}", headers=ada)).json()
        if run["status"] != "running":
            break
        await asyncio.sleep(0.05)
    assert run["status"] == "succeeded" and run["output"] == "HEY!"
    listed = (await client.get("/api/v1/pipelines/runs", headers=ada)).json()["items"]
    assert {r["id"] for r in listed} >= {run_id}


async def test_runs_are_private_and_bad_input_is_refused(
    api: Api, client: httpx.AsyncClient
) -> None:
    ada, bob = await api.signup("ada"), await api.signup("bob")
    r = await client.post("/api/v1/pipelines/shout/run?wait=true", json={"input": "x"}, headers=ada)
    run_id = r.json()["id"]
    r = await client.get(f"/api/v1/pipelines/runs/{run_id}", headers=bob)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    assert (await client.get("/api/v1/pipelines/runs", headers=bob)).json()["items"] == []
    r = await client.post("/api/v1/pipelines/shout/run", json={"input": [1, 2]}, headers=ada)
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_FAILED"
    r = await client.post("/api/v1/pipelines/nope/run", json={"input": "x"}, headers=ada)
    assert r.status_code == 404


async def gql(client: httpx.AsyncClient, query: str, headers: dict[str, str], **v: Any) -> Any:
    r = await client.post("/graphql", json={"query": query, "variables": v}, headers=headers)
    return r.json()


async def test_graphql_pipelines_and_runs(api: Api, client: httpx.AsyncClient) -> None:
    ada = await api.signup("ada")
    body = await gql(client, "{ pipelines { name mermaid } }", ada)
    assert {p["name"] for p in body["data"]["pipelines"]} == {"shout", "fan-out-fan-in"}
    run = (
        'mutation($i: JSON!) { runPipeline(name: "shout", input: $i, wait: true) '
        "{ id status output } }"
    )
    done = (await gql(client, run, ada, i="abc"))["data"]["runPipeline"]
    assert done["status"] == "succeeded" and done["output"] == "ABC!"
    got = await gql(
        client, "query($id: ID!) { pipelineRun(id: $id) { status } }", ada, id=done["id"]
    )
    assert got["data"]["pipelineRun"]["status"] == "succeeded"
    bob = await api.signup("bob")
    hidden = await gql(
        client, "query($id: ID!) { pipelineRun(id: $id) { status } }", bob, id=done["id"]
    )
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"


EVENTS = """subscription($id: ID!) {
  pipelineEvents(runId: $id) { type stage status run { status output } }
}"""


@pytest.fixture
def ws_app(container: Container) -> Iterator[tuple[TestClient, str]]:
    with TestClient(create_app(container, configure_logs=False)) as tc:
        tc.post(
            "/api/v1/auth/register",
            json={"username": "ada", "email": "ada@example.com", "password": "password123"},
        )
        r = tc.post("/api/v1/auth/login", json={"username": "ada", "password": "password123"})
        yield tc, r.json()["access_token"]


def test_stage_events_stream_until_the_run_finishes(ws_app: tuple[TestClient, str]) -> None:
    tc, token = ws_app
    auth = {"Authorization": f"Bearer {token}"}
    run_id = tc.post("/api/v1/pipelines/shout/run", json={"input": "go"}, headers=auth).json()["id"]
    with tc.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": auth})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": EVENTS, "variables": {"id": run_id}},
            }
        )
        events = []
        while (message := ws.receive_json())["type"] == "next":
            events.append(message["payload"]["data"]["pipelineEvents"])
        assert message["type"] == "complete"
    assert events[-1]["type"] == "RUN_FINISHED"
    assert events[-1]["run"] == {"status": "succeeded", "output": "GO!"}
    stages = [(e["stage"], e["status"]) for e in events if e["type"] == "STAGE"]
    assert ("exclaim", "succeeded") in stages  # watched live: the first stage takes 0.4 s
