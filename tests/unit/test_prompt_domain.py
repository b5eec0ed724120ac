"""Prompt domain rules: semantic versions, declarations, and variable checking."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from domain.agents.models import AgentDefinition
from domain.errors import PromptInvalidVariables
from domain.prompts.models import PromptTemplate
from domain.prompts.refs import PromptRef
from domain.prompts.semver import SemVer, latest
from entrypoints.rest.errors import http_status


def prompt(**variables: Any) -> PromptTemplate:
    return PromptTemplate(name="demo", version="1.0.0", template="x", variables=variables)


def test_semver_orders_numerically_and_prereleases_first() -> None:
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-rc.1", "1.0.0"]
    assert sorted(order[::-1], key=SemVer.parse) == order
    assert SemVer.parse("1.10.0") > SemVer.parse("1.9.0") > SemVer.parse("1.2.3")
    assert SemVer.parse("1.0.0+build.5") == SemVer.parse("1.0.0")
    assert str(SemVer.parse("2.1.0-rc.1+b7")) == "2.1.0-rc.1+b7"


@pytest.mark.parametrize("bad", ["1", "1.0", "01.0.0", "1.0.0-", "v1.0.0", "1.0.0.0", ""])
def test_semver_rejects_what_is_not_one(bad: str) -> None:
    with pytest.raises(ValueError, match="not a semantic version"):
        SemVer.parse(bad)


def test_latest_prefers_releases_over_prereleases() -> None:
    assert latest(["1.2.0", "1.10.0", "2.0.0-beta.1"]) == "1.10.0"
    assert latest(["2.0.0-beta.1", "2.0.0-alpha"]) == "2.0.0-beta.1"


def test_a_template_needs_a_valid_name_version_and_variable_names() -> None:
    with pytest.raises(ValidationError, match="name"):
        PromptTemplate(name="Bad Name", version="1.0.0", template="x")
    with pytest.raises(ValidationError, match="not a semantic version"):
        PromptTemplate(name="ok", version="1.0", template="x")
    with pytest.raises(ValidationError, match="invalid variable names"):
        PromptTemplate(name="ok", version="1.0.0", template="x", variables={"a-b": {}})
    with pytest.raises(ValidationError, match="not of type integer"):
        PromptTemplate(
            name="ok",
            version="1.0.0",
            template="x",
            variables={"n": {"type": "integer", "default": "3"}},
        )


def test_a_default_makes_a_variable_optional() -> None:
    p = prompt(a={"type": "string"}, b={"type": "integer", "default": 2}, c={"required": False})
    assert [p.variables[n].required for n in "abc"] == [True, False, False]
    assert p.bind({"a": "x"}) == {"a": "x", "b": 2, "c": None}


def test_bind_reports_every_problem_at_once() -> None:
    p = prompt(
        name={"type": "string"},
        n={"type": "integer"},
        flag={"type": "boolean", "default": False},
        tags={"type": "list", "default": []},
    )
    with pytest.raises(PromptInvalidVariables) as caught:
        p.bind({"n": "3", "flag": 1, "tags": {"a": 1}, "extra": 1})
    err = caught.value
    assert err.code == "PROMPT_INVALID_VARIABLES" and http_status(err) == 422
    problems = {(x["variable"], x["problem"]) for x in err.details["problems"]}
    assert problems == {
        ("extra", "unknown"),
        ("name", "missing"),
        ("n", "wrong_type"),
        ("flag", "wrong_type"),
        ("tags", "wrong_type"),
    }
    wrong = next(x for x in err.details["problems"] if x["variable"] == "n")
    assert wrong["expected"] == "integer" and wrong["got"] == "string"


def test_types_are_strict_but_an_integer_is_a_number() -> None:
    p = prompt(x={"type": "number"}, i={"type": "integer", "default": 0})
    assert p.bind({"x": 3})["x"] == 3
    with pytest.raises(PromptInvalidVariables):
        p.bind({"x": True})  # a boolean is not a number
    with pytest.raises(PromptInvalidVariables):
        p.bind({"x": 1.0, "i": 1.5})


def test_only_json_data_may_be_bound() -> None:
    p = prompt(o={"type": "object"})
    assert p.bind({"o": {"a": [1, {"b": None}]}})["o"] == {"a": [1, {"b": None}]}
    with pytest.raises(PromptInvalidVariables):
        p.bind({"o": {"a": object()}})
    with pytest.raises(PromptInvalidVariables):
        p.bind({"o": {1: "non-string key"}})


def test_prompt_refs_and_agent_definitions() -> None:
    assert PromptRef.parse("system") == PromptRef("system")
    assert PromptRef.parse("system@1.2.0") == PromptRef("system", "1.2.0")
    with pytest.raises(ValueError):
        PromptRef.parse("system@1.2")
    agent = AgentDefinition(name="a1", prompt="system@1.1.0", prompt_variables={"tone": "dry"})
    assert agent.prompt == "system@1.1.0" and agent.prompt_variables == {"tone": "dry"}
    with pytest.raises(ValidationError, match="prompt"):
        AgentDefinition(name="a1", prompt="Not A Prompt")
