"""A model source that always hands out one given model (a `FunctionModel`/`TestModel` in
tests and benchmarks; any `pydantic_ai` model from Python)."""

from __future__ import annotations

from pydantic_ai.models import Model


class StaticModelSource:
    def __init__(self, model: Model) -> None:
        self.model_instance = model
        self.last_requested: str | None = None
        self.context_tokens: int | None = None  # unknown, as for most fakes

    async def model(self, name: str | None = None) -> Model:
        self.last_requested = name
        return self.model_instance

    async def list_models(self) -> list[str]:
        return [self.model_instance.model_name]

    async def context_window(self, name: str | None = None) -> int | None:
        return self.context_tokens
