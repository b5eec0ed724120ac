"""`ModelParams`: the model settings a caller asks for (temperature, token cap, …).

Both an agent's definition and a prompt template carry them (a prompt may recommend its own),
so they live beside both rather than inside either: agents refer to prompts, never back.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModelParams(BaseModel):
    """Model settings an agent asks for; unset fields use the model's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=131_072)
    top_p: float | None = Field(default=None, gt=0, le=1)
    timeout_seconds: float | None = Field(default=None, gt=0)
