"""Prompt use-cases: load, look up, validate and render versioned prompt templates."""

from application.prompts.manager import PromptManager, PromptSummary

__all__ = ["PromptManager", "PromptSummary"]
