"""Agent definitions from YAML files (`config/agents/*.yaml`), one agent per file."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from adapters.config.yaml_files import read_mapping
from adapters.lmstudio.providers import is_provider_model, provider_model
from domain.agents.models import AgentDefinition
from domain.errors import ConfigurationError


class YamlAgentSource:
    def __init__(self, directory: str | Path) -> None:
        self._dir = Path(directory)

    def load(self) -> list[AgentDefinition]:
        if not self._dir.is_dir():
            return []
        found: dict[str, Path] = {}
        definitions = []
        for path in sorted(self._dir.glob("*.y*ml")):
            definition = _parse(path)
            if definition.name in found:
                first = found[definition.name]
                raise ConfigurationError(
                    f"{path}: agent {definition.name!r} is already defined in {first}",
                    details={"file": str(path), "field": "name"},
                )
            found[definition.name] = path
            definitions.append(definition)
        return definitions


def _parse(path: Path) -> AgentDefinition:
    raw = read_mapping(path, "agent")
    try:
        definition = AgentDefinition.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(root)"
        raise ConfigurationError(
            f"{path}: invalid agent field {field}: {err['msg']}",
            details={"file": str(path), "field": field},
        ) from None
    if is_provider_model(definition.model):  # fail at start-up, not on the first turn
        try:
            provider_model(str(definition.model))
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"{path}: invalid agent field model: {exc.message}",
                details={"file": str(path), "field": "model"},
            ) from None
    return definition
