"""Steps for features/prompts: rendering the shipped prompts over REST."""

from __future__ import annotations

import json

from pytest_bdd import parsers, scenarios, then, when

from tests.step_defs.conftest import World

scenarios("prompts/prompts.feature")


def _render(world: World, user: str, name: str, variables: str, version: str | None) -> None:
    body: dict[str, object] = {"variables": json.loads(variables)}
    if version is not None:
        body["version"] = version
    world.request("POST", f"/api/v1/prompts/{name}/render", user=user, json=body)


RENDERS = r'"(?P<user>[^"]+)" renders prompt "(?P<name>[^"]+)"'
VARIABLES = r" with variables '(?P<variables>.*)'$"


@when(parsers.re(RENDERS + r' version "(?P<version>[^"]+)"' + VARIABLES))
def render_pinned(world: World, user: str, name: str, version: str, variables: str) -> None:
    _render(world, user, name, variables, version)


@when(parsers.re(RENDERS + VARIABLES))
def render_latest(world: World, user: str, name: str, variables: str) -> None:
    _render(world, user, name, variables, None)


@then(parsers.parse('the prompt rendered is version "{version}" reading "{text}"'))
def rendered_exactly(world: World, version: str, text: str) -> None:
    assert world.response is not None
    body = world.response.json()
    assert (body["version"], body["text"]) == (version, text)


@then(parsers.parse('the prompt rendered is version "{version}" containing "{text}"'))
def rendered_containing(world: World, version: str, text: str) -> None:
    assert world.response is not None
    body = world.response.json()
    assert body["version"] == version and text in body["text"], body


@then(
    parsers.parse(
        'the problems are "{first}" is "{first_problem}" and "{second}" is "{second_problem}"'
    )
)
def problems_are(
    world: World, first: str, first_problem: str, second: str, second_problem: str
) -> None:
    assert world.response is not None
    problems = world.response.json()["error"]["details"]["problems"]
    assert {(p["variable"], p["problem"]) for p in problems} == {
        (first, first_problem),
        (second, second_problem),
    }
