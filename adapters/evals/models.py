"""`mai eval --model M`: the chat model every agent of the run uses.

`test` is Pydantic AI's `TestModel` (offline, deterministic: it calls each allowed tool once,
then answers); `function:package.module:callable` wraps your own function in a
`FunctionModel`; anything else is a Pydantic AI model string (`openai:gpt-4o`,
`anthropic:…`, `ollama:…`), resolved by Pydantic AI with its usual environment variables.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic_ai.models import Model, infer_model
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.models.test import TestModel

from domain.errors import ConfigurationError


def _bad(spec: str, why: str) -> ConfigurationError:
    return ConfigurationError(f"--model {spec!r}: {why}", details={"field": "model"})


def eval_model(spec: str) -> Model:
    if spec == "test":
        return TestModel()
    if spec.startswith("function:"):
        target = spec.removeprefix("function:")
        module_name, _, attr = target.partition(":")
        if not module_name or not attr:
            raise _bad(spec, "write function:package.module:callable")
        try:
            function: Any = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise _bad(spec, f"cannot load it ({exc})") from None
        if not callable(function):
            raise _bad(spec, "is not callable")
        return FunctionModel(function)
    try:
        return infer_model(spec)
    except Exception as exc:  # unknown provider, missing API key, missing extra…
        raise _bad(spec, str(exc).splitlines()[0]) from None
