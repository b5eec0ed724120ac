"""Prompt files on disk (YAML under `PROMPTS__DIR`)."""

from adapters.prompts.yaml_source import YamlPromptSource

__all__ = ["YamlPromptSource"]
