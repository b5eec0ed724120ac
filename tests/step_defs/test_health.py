from __future__ import annotations

from pytest_bdd import parsers, scenarios, then, when

from tests.step_defs.conftest import World

scenarios("system/health.feature")


@when("I ask for its liveness")
def ask_liveness(world: World) -> None:
    world.request("GET", "/health")


@when(parsers.parse('I ask for its liveness with request id "{rid}"'))
def ask_liveness_with_id(world: World, rid: str) -> None:
    world.request("GET", "/health", headers={"X-Request-ID": rid})


@when("I ask for its readiness")
def ask_readiness(world: World) -> None:
    world.request("GET", "/ready")


@then(parsers.parse('the answer is {status:d} with status "{value}"'))
def answer_status(world: World, status: int, value: str) -> None:
    assert world.response is not None
    assert world.response.status_code == status
    assert world.response.json()["status"] == value


@then(parsers.parse('the readiness lists the adapters "{a}" and "{b}"'))
def readiness_lists(world: World, a: str, b: str) -> None:
    assert world.response is not None
    adapters = world.response.json()["adapters"]
    assert {a, b} <= set(adapters)
    assert all(v["ok"] for v in adapters.values())


@then(parsers.parse('the response carries the request id "{rid}"'))
def carries_request_id(world: World, rid: str) -> None:
    assert world.response is not None
    assert world.response.headers["x-request-id"] == rid
