"""Input mappings of declared stages: `$input`, `$input.field`, `$stages.retrieve.items`.

A declared stage may say where its input comes from instead of taking the default (the
pipeline input at the root, its one dependency's output, or a dict of its dependencies'
outputs). The mapping is a structure of literals and references, compiled once at load
time so a typo fails the file, not a run:

- a string starting with `$` is a reference: `$input[.path]` (the pipeline's input) or
  `$stages.<stage>[.path]` (another stage's output); `$$…` is the literal text `$…`;
- dicts and lists are walked, everything else is a literal.

Resolution is deliberately small and safe: no eval, no arbitrary `getattr`. A path step
reads a mapping key, a list index, or a declared field of a pydantic model or dataclass,
nothing else (so `__class__` and methods are unreachable). `{input}`-style templates, used to
build agent prompts, resolve their placeholders through the same paths.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter

from domain.errors import StageFailed

__all__ = [
    "INPUT_STAGE",
    "InputMapping",
    "MappingScope",
    "Reference",
    "as_text",
    "read_path",
    "render_template",
    "template_fields",
]

INPUT_STAGE = "input"  # the pass-through stage that hands the pipeline input to later stages
_SEGMENT = re.compile(r"^(?!__)[A-Za-z0-9_][A-Za-z0-9_-]*$")  # no dunders, even as keys
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_ANY: TypeAdapter[Any] = TypeAdapter(Any)


@dataclass(frozen=True, slots=True)
class Reference:
    """`$input.a.b` → (`input`, None, (a, b)); `$stages.s.a` → (`stages`, s, (a,))."""

    root: Literal["input", "stages"]
    stage: str | None = None
    path: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Raise ValueError, saying what is expected, for anything but a valid reference."""
        if not text.startswith("$"):
            raise ValueError(f"{text!r} is not a reference (references start with '$')")
        parts = text[1:].split(".")
        bad = [p for p in parts if not _SEGMENT.match(p)]
        if bad:
            raise ValueError(
                f"{text!r}: each part after '$' must be letters, digits, '_' or '-', "
                f"not starting with '__' (not {bad[0]!r})"
            )
        if parts[0] == "input":
            return cls("input", None, tuple(parts[1:]))
        if parts[0] == "stages":
            if len(parts) < 2:
                raise ValueError(f"{text!r}: name the stage, as in '$stages.<stage>'")
            if parts[1] == INPUT_STAGE:
                raise ValueError(f"{text!r}: the pipeline input is '$input'")
            return cls("stages", parts[1], tuple(parts[2:]))
        raise ValueError(f"{text!r}: a reference starts with '$input' or '$stages.<stage>'")

    def __str__(self) -> str:
        head = "$input" if self.root == "input" else f"$stages.{self.stage}"
        return ".".join((head, *self.path))


@dataclass(frozen=True, slots=True)
class MappingScope:
    """What references can see while one stage starts: the pipeline input (when the stage
    can know it) and the outputs of the stages it depends on."""

    stages: Mapping[str, Any] = field(default_factory=dict)
    input: Any = None
    has_input: bool = False

    @classmethod
    def received(cls, depends_on: Sequence[str], value: Any) -> MappingScope:
        """Rebuild the scope from what the executor hands a stage: the pipeline input (no
        dependencies), the one dependency's output, or a dict of outputs by name. A stage
        with dependencies sees the pipeline input through the `input` pass-through stage."""
        if not depends_on:
            return cls({}, value, True)
        outputs = {depends_on[0]: value} if len(depends_on) == 1 else dict(value)
        if INPUT_STAGE in outputs:
            return cls(outputs, outputs[INPUT_STAGE], True)
        return cls(outputs)


class InputMapping:
    """A compiled mapping: the declared structure with its references parsed."""

    def __init__(self, declared: Any) -> None:
        self.declared = declared
        self.references: list[Reference] = []
        self._compiled = self._compile(declared, "")

    def _compile(self, value: Any, where: str) -> Any:
        if isinstance(value, str):
            if value.startswith("$$"):
                return value[1:]
            if value.startswith("$"):
                try:
                    ref = Reference.parse(value)
                except ValueError as exc:
                    raise ValueError(f"{where or 'input'}: {exc}") from None
                self.references.append(ref)
                return ref
            return value
        if isinstance(value, Mapping):
            return {str(k): self._compile(v, _join(where, str(k))) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._compile(v, _join(where, str(i))) for i, v in enumerate(value)]
        return value

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages referenced, in order of first mention (they become dependencies)."""
        return tuple(dict.fromkeys(r.stage for r in self.references if r.stage is not None))

    @property
    def uses_input(self) -> bool:
        return any(r.root == "input" for r in self.references)

    def resolve(self, scope: MappingScope) -> Any:
        """The stage's input; `StageFailed` (naming the reference) when a path is missing."""
        return self._resolve(self._compiled, scope)

    def _resolve(self, value: Any, scope: MappingScope) -> Any:
        if isinstance(value, Reference):
            return _lookup(value, scope)
        if isinstance(value, dict):
            return {k: self._resolve(v, scope) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v, scope) for v in value]
        return value

    def __repr__(self) -> str:
        return f"InputMapping({self.declared!r})"


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _lookup(ref: Reference, scope: MappingScope) -> Any:
    if ref.root == "input":
        if not scope.has_input:
            raise StageFailed(f"{ref}: the pipeline input is not available to this stage.")
        base = scope.input
    elif ref.stage is not None and ref.stage in scope.stages:
        base = scope.stages[ref.stage]
    else:
        raise StageFailed(
            f"{ref}: stage {ref.stage!r} is not a dependency of this stage.",
            details={"reference": str(ref)},
        )
    try:
        return read_path(base, ref.path)
    except LookupError as exc:
        raise StageFailed(f"{ref}: {exc}", details={"reference": str(ref)}) from None


def read_path(value: Any, path: Sequence[str]) -> Any:
    """Follow `path` through mapping keys, list indexes and declared model/dataclass
    fields; LookupError (saying which step) when a step does not exist."""
    for step in path:
        value = _step(value, step)
    return value


def _step(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        raise LookupError(f"no key {key!r} (keys: {', '.join(map(str, value)) or 'none'})")
    if isinstance(value, BaseModel):
        fields = {**type(value).model_fields, **type(value).model_computed_fields}
        if key in fields:
            return getattr(value, key)
        raise LookupError(f"{type(value).__name__} has no field {key!r}")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if key in {f.name for f in dataclasses.fields(value)}:
            return getattr(value, key)
        raise LookupError(f"{type(value).__name__} has no field {key!r}")
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if key.lstrip("-").isdigit() and -len(value) <= int(key) < len(value):
            return value[int(key)]
        raise LookupError(f"no item {key} (length {len(value)})")
    raise LookupError(f"cannot read {key!r} from a {type(value).__name__}")


def as_text(value: Any) -> str:
    """How a value appears in a prompt: text as is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(_ANY.dump_python(value, mode="json", fallback=repr), ensure_ascii=False)


def template_fields(template: str) -> list[str]:
    """The placeholders of an `{input}`-style template; ValueError for a malformed one."""
    names = []
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name is None:
            continue
        if not all(_SEGMENT.match(part) for part in name.split(".")):
            raise ValueError(f"bad placeholder {{{name}}}: use {{input}} or {{name.field}}")
        names.append(name)
    stray = _PLACEHOLDER.sub("", template)
    if "{" in stray or "}" in stray:
        raise ValueError("unbalanced '{' or '}' (write '{{' and '}}' for literal braces)")
    return names


def render_template(template: str, value: Any) -> str:
    """Fill `{input}` with the whole value and `{name.path}` with paths into it (a mapping
    or model); `{{` and `}}` are literal braces. LookupError names a missing placeholder."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        head, *rest = name.split(".")
        path = rest if head == "input" else [head, *rest]
        try:
            return as_text(read_path(value, path))
        except LookupError as exc:
            raise LookupError(f"placeholder {{{name}}}: {exc}") from None

    return _PLACEHOLDER.sub(fill, template)
