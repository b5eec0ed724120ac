"""What a prompt is: a named, versioned template with a small schema for its variables.

Prompts are content, not code: users edit them in YAML, version them, and render them with
values that are checked against the declaration first, so a typo or a wrong type is a clear
422 rather than a half-rendered instruction sent to a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.errors import PromptInvalidVariables
from domain.model_params import ModelParams
from domain.prompts.refs import PROMPT_NAME_RE
from domain.prompts.semver import SemVer

VARIABLE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

VariableType = Literal["string", "integer", "number", "boolean", "list", "object"]


def type_of(value: Any) -> str:
    """The schema type a JSON-like value has (`null` and `unsupported` for the rest)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "unsupported"


def is_json_like(value: Any, depth: int = 0) -> bool:
    """Only JSON data reaches a template (and a cache key): no objects with methods."""
    if depth > 32:
        return False
    kind = type_of(value)
    if kind == "list":
        return all(is_json_like(v, depth + 1) for v in value)
    if kind == "object":
        return all(isinstance(k, str) and is_json_like(v, depth + 1) for k, v in value.items())
    return kind != "unsupported"


def matches(kind: VariableType, value: Any) -> bool:
    actual = type_of(value)
    return actual == kind or (kind == "number" and actual == "integer")


class PromptVariable(BaseModel):
    """One declared variable. Without a `default` it is required unless `required: false`
    says otherwise (then it is bound to null when absent)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: VariableType = "string"
    description: str = ""
    required: bool = True
    default: Any = None

    @model_validator(mode="before")
    @classmethod
    def _default_means_optional(cls, data: Any) -> Any:
        if isinstance(data, dict) and "default" in data:
            return {"required": False, **data}
        return data

    @model_validator(mode="after")
    def _default_fits(self) -> PromptVariable:
        if self.default is not None and not (
            matches(self.type, self.default) and is_json_like(self.default)
        ):
            raise ValueError(f"default {self.default!r} is not of type {self.type}")
        return self


class PromptTemplate(BaseModel):
    """One version of one prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    version: str
    description: str = ""
    template: str = Field(min_length=1)
    variables: dict[str, PromptVariable] = {}
    tags: tuple[str, ...] = ()
    model_settings: ModelParams = ModelParams()
    group: str = ""  # the folder under the prompts directory (set by the source)

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not PROMPT_NAME_RE.match(v):
            raise ValueError("must be 2-64 chars of lowercase letters, digits, '-', '_' or '.'")
        return v

    @field_validator("version", mode="before")
    @classmethod
    def _semver(cls, v: Any) -> str:
        return str(SemVer.parse(str(v)))

    @field_validator("variables")
    @classmethod
    def _names(cls, v: dict[str, PromptVariable]) -> dict[str, PromptVariable]:
        bad = [n for n in v if not VARIABLE_NAME_RE.match(n)]
        if bad:
            raise ValueError(f"invalid variable names {bad} (letters, digits and '_')")
        return v

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def bind(self, given: dict[str, Any]) -> dict[str, Any]:
        """The values to render with: `given` checked against the declaration, defaults
        filled in. Every problem is reported at once (PROMPT_INVALID_VARIABLES)."""
        problems: list[dict[str, Any]] = []
        for name in sorted(set(given) - set(self.variables)):
            problems.append(_problem(name, "unknown", f"{name!r} is not a variable of {self.ref}"))
        bound: dict[str, Any] = {}
        for name, spec in self.variables.items():
            if name not in given:
                if spec.required:
                    problems.append(_problem(name, "missing", f"{name!r} is required"))
                bound[name] = spec.default
                continue
            value = given[name]
            if not matches(spec.type, value) or not is_json_like(value):
                problems.append(
                    _problem(
                        name,
                        "wrong_type",
                        f"{name!r} must be {spec.type}, got {type_of(value)}",
                        expected=spec.type,
                        got=type_of(value),
                    )
                )
            bound[name] = value
        if problems:
            raise PromptInvalidVariables(
                f"Invalid variables for prompt {self.ref}: "
                + "; ".join(p["message"] for p in problems),
                details={"prompt": self.name, "version": self.version, "problems": problems},
            )
        return bound


def _problem(variable: str, problem: str, message: str, **extra: str) -> dict[str, Any]:
    return {"variable": variable, "problem": problem, "message": message, **extra}


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    name: str
    version: str
    text: str
