"""Loading an agent dataset: pydantic-evals' own YAML (or JSON) format, checked first so a
mistake names the file, the case and the field, and nothing runs on a broken file.

    name: smoke                       # optional: the file's stem otherwise
    cases:
      - name: greets
        inputs: "Hello!"              # the user's message, or a list of them (multi-turn)
        expected_output: "…"          # optional, for EqualsExpected
        metadata: {memories: ["…"]}   # optional: memories the eval user has before the case
        evaluators: [{Contains: {value: hello, case_sensitive: false}}]
    evaluators: [IsInstance: str]     # for every case
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_evals import Dataset
from pydantic_evals.evaluators.common import DEFAULT_EVALUATORS

from application.evals.evaluators import MAI_EVALUATORS
from domain.errors import NotFound, ValidationFailed

KNOWN_EVALUATORS = sorted(e.get_serialization_name() for e in DEFAULT_EVALUATORS + MAI_EVALUATORS)
CASE_FIELDS = {"name", "inputs", "metadata", "expected_output", "evaluators"}
AgentDataset = Dataset[Any, Any, Any]


def _invalid(path: Path, case: str | None, field: str, problem: str) -> ValidationFailed:
    where = f"{path}: " + (f"case {case!r}: " if case is not None else "")
    details = {"file": str(path), "field": field}
    if case is not None:
        details["case"] = case
    return ValidationFailed(f"{where}field {field!r}: {problem}", details=details)


def messages_of(inputs: Any) -> list[str]:
    """A case's user messages: one string, or a list of strings (a multi-turn case)."""
    return [inputs] if isinstance(inputs, str) else list(inputs)


def _check_evaluators(path: Path, case: str | None, specs: Any) -> None:
    if not isinstance(specs, list):
        raise _invalid(path, case, "evaluators", "must be a list")
    for spec in specs:
        if isinstance(spec, str):
            name = spec
        elif isinstance(spec, dict) and len(spec) == 1:
            name = next(iter(spec))
        else:
            raise _invalid(path, case, "evaluators", f"{spec!r} is not `Name` or `Name: args`")
        if name not in KNOWN_EVALUATORS:
            raise _invalid(
                path, case, "evaluators", f"unknown evaluator {name!r} (known: {KNOWN_EVALUATORS})"
            )


def _check_case(path: Path, position: int, case: Any) -> str:
    if not isinstance(case, dict):
        raise _invalid(path, f"#{position}", "cases", "each case must be a mapping")
    name = case.get("name")
    label = str(name) if name is not None else f"#{position}"
    unknown = sorted(set(case) - CASE_FIELDS)
    if unknown:
        raise _invalid(path, label, unknown[0], f"unknown field (known: {sorted(CASE_FIELDS)})")
    inputs = case.get("inputs")
    turns = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(turns, list) or not turns:
        raise _invalid(path, label, "inputs", "must be a message or a non-empty list of messages")
    if not all(isinstance(t, str) and t.strip() for t in turns):
        raise _invalid(path, label, "inputs", "every message must be non-empty text")
    metadata = case.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _invalid(path, label, "metadata", "must be a mapping")
    memories = (metadata or {}).get("memories", [])
    if not isinstance(memories, list) or not all(isinstance(m, str) and m for m in memories):
        raise _invalid(path, label, "metadata.memories", "must be a list of non-empty texts")
    _check_evaluators(path, label, case.get("evaluators", []))
    return label


def load_agent_dataset(path: Path) -> AgentDataset:
    """The dataset at `path`, or `ValidationFailed` naming what is wrong and where."""
    if not path.is_file():
        raise NotFound(f"{path}: no such dataset file.", details={"file": str(path)})
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValidationFailed(
            f"{path}: not valid YAML{line}.", details={"file": str(path)}
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cases"), list) or not raw["cases"]:
        raise _invalid(path, None, "cases", "the file needs a non-empty list of cases")
    _check_evaluators(path, None, raw.get("evaluators", []))
    labels = [_check_case(path, i, case) for i, case in enumerate(raw["cases"], start=1)]
    if len(set(labels)) != len(labels):
        duplicate = next(x for x in labels if labels.count(x) > 1)
        raise _invalid(path, duplicate, "name", "case names must be unique")
    for case, label in zip(raw["cases"], labels, strict=True):
        case.setdefault("name", label)
    try:
        return AgentDataset.from_dict(
            raw, custom_evaluator_types=MAI_EVALUATORS, default_name=path.stem
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        case = labels[int(loc[1])] if len(loc) > 1 and loc[0] == "cases" else None
        field = ".".join(loc[2:] if case is not None else loc) or "?"
        raise _invalid(path, case, field, str(first["msg"])) from None
    except (ValueError, TypeError, ExceptionGroup) as exc:
        inner = exc.exceptions[0] if isinstance(exc, ExceptionGroup) else exc
        raise _invalid(path, None, "evaluators", str(inner).splitlines()[0]) from None
