"""Eval runs over REST and GraphQL (superusers only), and the last score per dataset in
/metrics, including runs another process (the CLI) recorded straight into the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from container import Container
from domain.evals.models import CaseScore, EvalKind, EvalRun
from tests.api.test_tools_api import superuser
from tests.conftest import Api

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(dataset: str, score: float, minutes: int = 0) -> EvalRun:
    return EvalRun(
        EvalKind.AGENT,
        dataset,
        "assistant",
        score,
        cases=[CaseScore("greets", score, 0.5, assertions={"Contains": score > 0.5})],
        model="test",
        threshold=0.5,
        created_at=T0 + timedelta(minutes=minutes),
    )


async def test_runs_are_listed_newest_first_with_cases(
    container: Container, api: Api, client: httpx.AsyncClient
) -> None:
    root = await superuser(container, api)
    older, newer = run("smoke", 0.25), run("smoke", 0.75, minutes=5)
    for r in (older, newer):
        await container.eval_runs().record(r)

    listed = await client.get("/api/v1/evals", headers=root)
    one = await client.get(f"/api/v1/evals/{older.id}", headers=root)

    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()["items"]] == [str(newer.id), str(older.id)]
    assert listed.json()["items"][0]["passed"] is True
    assert one.json()["passed"] is False
    assert one.json()["cases"] == [
        {
            "name": "greets",
            "score": 0.25,
            "duration": 0.5,
            "assertions": {"Contains": False},
            "scores": {},
            "error": None,
            "output": None,
        }
    ]


async def test_only_a_superuser_reads_runs_and_unknown_ids_are_404(
    container: Container, api: Api, client: httpx.AsyncClient
) -> None:
    root = await superuser(container, api)
    someone = await api.signup("someone")
    await container.eval_runs().record(run("smoke", 1.0))

    assert (await client.get("/api/v1/evals", headers=someone)).status_code == 403
    assert (await client.get("/api/v1/evals")).status_code == 401
    missing = await client.get("/api/v1/evals/00000000-0000-0000-0000-000000000000", headers=root)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    bad = await client.get("/api/v1/evals/nope", headers=root)
    assert bad.status_code == 422


async def test_graphql_lists_runs_for_superusers(
    container: Container, api: Api, client: httpx.AsyncClient
) -> None:
    root = await superuser(container, api)
    someone = await api.signup("someone")
    recorded = run("smoke", 0.5)
    await container.eval_runs().record(recorded)
    query = {"query": "{ evalRuns { items { id dataset score passed cases { name score } } } }"}

    body = (await client.post("/graphql", json=query, headers=root)).json()
    denied = (await client.post("/graphql", json=query, headers=someone)).json()

    assert body["data"]["evalRuns"]["items"] == [
        {
            "id": str(recorded.id),
            "dataset": "smoke",
            "score": 0.5,
            "passed": True,
            "cases": [{"name": "greets", "score": 0.5}],
        }
    ]
    assert denied["errors"][0]["extensions"]["error"]["code"] == "PERMISSION_DENIED"


async def test_metrics_show_the_latest_score_per_dataset_from_the_store(
    container: Container, client: httpx.AsyncClient
) -> None:
    store = container.eval_run_store()  # as `mai eval` in another process would
    await store.add(run("gauge-set", 0.2))
    await store.add(run("gauge-set", 0.9, minutes=1))

    body = (await client.get("/metrics")).text

    assert 'mai_eval_score{dataset="gauge-set",kind="agent",target="assistant"} 0.9' in body
