"""MAI's own evaluators, beside pydantic-evals' (`EqualsExpected`, `Contains`, `LLMJudge`…).

They read what the eval task records on the case (`set_eval_attribute`): the tool calls of
the case's turns and the memories recalled into them. Names are what a dataset writes:

    evaluators:
      - ToolCalled: {name: current_time, args: {timezone: Asia/Tokyo}}
      - MemoryRecalled: {contains: Porto}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic_evals.evaluators import EvaluationReason, Evaluator, EvaluatorContext

TOOL_CALLS = "tool_calls"  # attribute: [{"name", "args", "result"}, …] of every turn
RECALLED = "recalled_memories"  # attribute: the contents of memories retrieved in the turns


@dataclass(repr=False)
class ToolCalled(Evaluator[object, object, object]):
    """Passes when a turn called tool `name`, with `args` among its arguments if given
    (each given argument must be equal; others may be present)."""

    name: str
    args: dict[str, Any] | None = None
    evaluation_name: str | None = field(default=None)

    def evaluate(self, ctx: EvaluatorContext[object, object, object]) -> EvaluationReason:
        calls = [c for c in ctx.attributes.get(TOOL_CALLS, []) if c.get("name") == self.name]
        if not calls:
            return EvaluationReason(False, f"{self.name} was not called")
        wanted = self.args or {}
        for call in calls:
            given = call.get("args") or {}
            if all(given.get(k) == v for k, v in wanted.items()):
                return EvaluationReason(True)
        seen = [c.get("args") for c in calls]
        return EvaluationReason(False, f"{self.name} called with {seen}, not {wanted}")


@dataclass(repr=False)
class MemoryRecalled(Evaluator[object, object, object]):
    """Passes when a memory containing `contains` was recalled during the case's turns."""

    contains: str
    case_sensitive: bool = False
    evaluation_name: str | None = field(default=None)

    def evaluate(self, ctx: EvaluatorContext[object, object, object]) -> EvaluationReason:
        recalled: list[str] = list(ctx.attributes.get(RECALLED, []))
        needle = self.contains if self.case_sensitive else self.contains.lower()
        for text in recalled:
            if needle in (text if self.case_sensitive else text.lower()):
                return EvaluationReason(True)
        return EvaluationReason(False, f"no recalled memory contains {self.contains!r}")


MAI_EVALUATORS: tuple[type[Evaluator[object, object, object]], ...] = (ToolCalled, MemoryRecalled)
