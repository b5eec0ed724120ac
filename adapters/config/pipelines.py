"""Declared pipelines from YAML files (`config/pipelines/*.yaml`), one pipeline per file.

Reading and schema checks happen here; building stage objects is the application's
`PipelineFactory` (it needs the agents, tools and prompts), passed in by the composition
root. Whatever is wrong, the error is a `ConfigurationError` naming the file and the field
(`details["file"]`, `details["field"]`), like agent files, so a broken file stops start-up
with a message that says where to look.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from adapters.config.yaml_files import read_mapping
from domain.errors import ConfigurationError
from domain.pipelines.pipeline import Pipeline
from domain.pipelines.spec import PipelineSpec, SpecFieldError

__all__ = ["PipelineBuilder", "YamlPipelineSource"]


class PipelineBuilder(Protocol):
    """What turns a spec into a pipeline (`application.pipelines.declared.PipelineFactory`)."""

    def build(self, spec: PipelineSpec) -> Pipeline[Any, Any]: ...


class YamlPipelineSource:
    def __init__(self, directory: str | Path) -> None:
        self._dir = Path(directory)

    def files(self) -> list[Path]:
        if not self._dir.is_dir():
            return []
        return [p for p in sorted(self._dir.glob("*.y*ml")) if p.suffix in (".yaml", ".yml")]

    def load(self) -> list[PipelineSpec]:
        """Every file's spec, checked; a pipeline name used twice is refused."""
        return [spec for _, spec in self._load()]

    def pipelines(self, factory: PipelineBuilder) -> dict[str, Pipeline[Any, Any]]:
        """Every file built into a validated pipeline, by name."""
        built: dict[str, Pipeline[Any, Any]] = {}
        for path, spec in self._load():
            try:
                built[spec.name] = factory.build(spec)
            except ConfigurationError as exc:
                field = str(exc.details.get("field", "stages"))
                raise ConfigurationError(
                    f"{path}: {exc.message}",
                    details={**exc.details, "file": str(path), "field": field},
                ) from None
        return built

    def _load(self) -> list[tuple[Path, PipelineSpec]]:
        found: dict[str, Path] = {}
        loaded = []
        for path in self.files():
            spec = parse_pipeline_file(path)
            if spec.name in found:
                raise ConfigurationError(
                    f"{path}: pipeline {spec.name!r} is already defined in {found[spec.name]}",
                    details={"file": str(path), "field": "name"},
                )
            found[spec.name] = path
            loaded.append((path, spec))
        return loaded


def parse_pipeline_file(path: Path) -> PipelineSpec:
    raw = read_mapping(path, "pipeline")
    try:
        return PipelineSpec.model_validate(raw)
    except ValidationError as exc:
        field, message = _first_error(exc)
        raise ConfigurationError(
            f"{path}: invalid pipeline field {field}: {message}",
            details={"file": str(path), "field": field},
        ) from None


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """The field and message of the first error; a cross-field `SpecFieldError` adds its
    own field to where it was raised (`stages.1` + `agent`)."""
    err = exc.errors()[0]
    parts = [str(p) for p in err["loc"]]
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, SpecFieldError):
        message = str(cause).removeprefix(f"{cause.field}: ")
        return ".".join([*parts, cause.field]), message
    return ".".join(parts) or "(root)", err["msg"]
