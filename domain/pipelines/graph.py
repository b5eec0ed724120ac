"""The rules of a pipeline's shape: validation and topological layering.

Pure functions over `name → dependencies` (in declaration order), so they are easy to test
and the executor never has to think about ordering. Layers follow Kahn's algorithm: layer 0
is every stage without dependencies, layer k+1 every stage whose dependencies are all in
layers ≤ k. Inside a layer stages keep their declaration order, so the result is
deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Problem", "ancestors", "find_cycle", "structural_problems", "topological_layers"]

Graph = Mapping[str, Sequence[str]]  # stage → the stages it depends on, declaration order


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a pipeline is invalid, naming the stages involved."""

    kind: str  # duplicate_stage | unknown_dependency | unknown_output | cycle | dead_stage | …
    message: str
    stages: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "stages": list(self.stages)} | (
            self.extra
        )


def topological_layers(graph: Graph) -> list[list[str]]:
    """Kahn's layering; raises ValueError on a cycle or an unknown dependency."""
    for stage, deps in graph.items():
        for dep in deps:
            if dep not in graph:
                raise ValueError(f"stage {stage!r} depends on unknown stage {dep!r}")
    remaining = {stage: len(set(deps)) for stage, deps in graph.items()}
    dependents: dict[str, list[str]] = {stage: [] for stage in graph}
    for stage, deps in graph.items():
        for dep in dict.fromkeys(deps):
            dependents[dep].append(stage)
    layers: list[list[str]] = []
    current = [stage for stage, count in remaining.items() if count == 0]
    while current:
        layers.append(current)
        ready: set[str] = set()
        for stage in current:
            for child in dependents[stage]:
                remaining[child] -= 1
                if remaining[child] == 0:
                    ready.add(child)
        current = [stage for stage in graph if stage in ready]  # declaration order
    if sum(len(layer) for layer in layers) != len(graph):
        cycle = find_cycle(graph) or []
        raise ValueError(f"cycle between stages: {' -> '.join(cycle)}")
    return layers


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle as a closed path (`[a, b, a]`), searched in declaration order; None if the
    graph is acyclic. Unknown dependencies are ignored."""
    state: dict[str, int] = {}  # 1: on the current path, 2: fully explored
    path: list[str] = []

    def visit(stage: str) -> list[str] | None:
        state[stage] = 1
        path.append(stage)
        for dep in graph[stage]:
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep)) is not None:
                return found
        path.pop()
        state[stage] = 2
        return None

    for stage in graph:
        if stage not in state and (found := visit(stage)) is not None:
            return found
    return None


def ancestors(graph: Graph, stage: str) -> set[str]:
    """Every stage `stage` depends on, directly or not (itself excluded)."""
    seen: set[str] = set()
    todo = [d for d in graph.get(stage, ()) if d in graph]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(d for d in graph[current] if d in graph)
    return seen


def structural_problems(names: Sequence[str], graph: Graph, output: str) -> list[Problem]:
    """Everything wrong with the shape, most basic first. When the graph cannot be walked
    (duplicates, unknown names, a cycle) the later checks are not attempted.

    A stage that the output does not (transitively) depend on is a `dead_stage`: it would
    run, cost time and money, and change nothing in the result. It is nearly always a
    mistake (a misspelt or forgotten dependency), so it is refused rather than run.
    """
    if not names:
        return [Problem("empty", "a pipeline needs at least one stage", ())]
    problems: list[Problem] = []
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(
            Problem(
                "duplicate_stage",
                f"duplicate stage names: {', '.join(duplicates)}",
                tuple(duplicates),
            )
        )
    for stage, deps in graph.items():
        for dep in deps:
            if dep not in graph:
                problems.append(
                    Problem(
                        "unknown_dependency",
                        f"stage {stage!r} depends on unknown stage {dep!r}",
                        (stage, dep),
                    )
                )
    if output not in graph:
        problems.append(
            Problem("unknown_output", f"output stage {output!r} is not a stage", (output,))
        )
    if problems:
        return problems
    cycle = find_cycle(graph)
    if cycle is not None:
        return [Problem("cycle", f"cycle between stages: {' -> '.join(cycle)}", tuple(cycle[:-1]))]
    contributing = ancestors(graph, output) | {output}
    dead = [stage for stage in graph if stage not in contributing]
    if dead:
        problems.append(
            Problem(
                "dead_stage",
                f"stages {', '.join(dead)} do not contribute to the output stage {output!r}",
                (*dead, output),
            )
        )
    return problems
