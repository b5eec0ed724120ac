"""Reading the YAML content files (agents, prompts, pipelines) with errors that name the
file, the same way for all three."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from domain.errors import ConfigurationError


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    """The file's top-level mapping; `ConfigurationError` naming the file otherwise."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(
            f"{path}: not readable YAML ({exc})", details={"file": str(path)}
        ) from None
    if not isinstance(raw, dict):
        raise ConfigurationError(
            f"{path}: expected a mapping of {what} fields", details={"file": str(path)}
        )
    return raw
