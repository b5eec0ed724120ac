"""PipelineRegistry: pipelines by name, one definition per name."""

from __future__ import annotations

import pytest

from application.pipelines.registry import PipelineRegistry
from domain.errors import Conflict, NotFound
from domain.pipelines import FunctionStage, Pipeline


def upper(text: str) -> str:
    return text.upper()


def make(name: str) -> Pipeline[str, str]:
    return Pipeline(name=name, stages=[FunctionStage("upper", upper)], output="upper")


def test_pipelines_by_name() -> None:
    a, b = make("alpha"), make("beta")
    registry = PipelineRegistry([b, a])
    assert registry.names() == ["alpha", "beta"] and len(registry) == 2
    assert registry.get("alpha") is a and "beta" in registry and "gamma" not in registry
    assert {p.name for p in registry} == {"alpha", "beta"}
    with pytest.raises(NotFound):
        registry.get("gamma")


def test_one_definition_per_name() -> None:
    a = make("alpha")
    registry = PipelineRegistry([a])
    assert registry.register(a) is a  # the same object again: harmless
    assert registry.is_registered(a)
    other = make("alpha")
    assert not registry.is_registered(other)  # same name, another definition
    with pytest.raises(Conflict):
        registry.register(other)
    assert registry.get("alpha") is a
