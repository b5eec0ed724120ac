"""The calculator: the domain's safe arithmetic, and the tool that tells the model why not."""

from __future__ import annotations

import math
import time
from uuid import uuid4

import pytest
from pydantic_ai import Agent, ModelRetry
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.tools import InProcessToolStateStore
from application.agents.runner import AgentDeps
from application.tools.builtins import calculator
from application.tools.registry import ToolRegistry
from application.tools.toolset import invoke
from domain.agents.models import AgentDefinition
from domain.errors import ValidationFailed
from domain.tools.arithmetic import MAX_CHARS, MAX_NODES, InvalidExpression, evaluate
from entrypoints.rest.errors import http_status

CALLER = AgentDeps(user_id=uuid4())  # someone on whose behalf a tool runs

QUICK_SECONDS = 0.5  # generous for a shared 2-core machine; a real DoS takes minutes


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 ** 3 ** 2", 512),  # right-associative
        ("-2 ** 2", -4),  # unary minus binds looser than **
        ("--3", 3),
        ("+4 - -1", 5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("7 / 2", 3.5),
        ("0.1 + 0.2", pytest.approx(0.3)),
        ("1.5e3 / 3", 500.0),
        ("sqrt(16) + abs(-2)", 6.0),
        ("max(1, 5, 3) - min(4, 2)", 3),
        ("round(2.567, 2)", 2.57),
        ("floor(2.7) + ceil(2.1)", 5),
        ("log10(1000)", pytest.approx(3.0)),
        ("log(e)", pytest.approx(1.0)),
        ("exp(0)", 1.0),
        ("sin(pi / 2) + cos(0)", pytest.approx(2.0)),
        ("tan(0)", 0.0),
        ("2 * pi", pytest.approx(2 * math.pi)),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("  (17 * 3) / 4 + sqrt(2)  ", pytest.approx(51 / 4 + math.sqrt(2))),
    ],
)
def test_evaluates_arithmetic(expression: str, expected: object) -> None:
    assert evaluate(expression) == expected


def test_integer_results_stay_exact() -> None:
    result = evaluate("2 ** 100 + 1")
    assert result == 2**100 + 1 and isinstance(result, int)


ATTACKS = [
    ("__import__('os')", "is not allowed"),
    ("__import__('os').system('true')", "is not allowed"),
    ("().__class__", "is not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "is not allowed"),
    ("(1).real", "is not allowed"),
    ("pi.real", "is not allowed"),
    ("sqrt.__globals__", "is not allowed"),
    ("x + 1", "'x' is not allowed"),
    ("inf", "'inf' is not allowed"),
    ("True + 1", "'True' is not allowed"),
    ("pow(2, 3)", "'pow(2, 3)' is not allowed"),
    ("eval('1')", "is not allowed"),
    ("lambda: 1", "is not allowed"),
    ("(lambda x: x)(1)", "is not allowed"),
    ("[i for i in (1, 2)]", "is not allowed"),
    ("sum(i for i in (1, 2))", "is not allowed"),
    ("{i: i for i in (1,)}", "is not allowed"),
    ("round(1.5, ndigits=1)", "is not allowed"),
    ("max(*(1, 2))", "is not allowed"),
    ("'a' * 10", "is not allowed"),
    ("b'abc'", "is not allowed"),
    ("f'{1}'", "is not allowed"),
    ("1j * 1j", "is not allowed"),
    ("1 if 1 else 2", "is not allowed"),
    ("1 < 2", "is not allowed"),
    ("~1", "is not allowed"),
    ("1 << 100000", "is not allowed"),
    ("(x := 1)", "is not allowed"),
    ("9**9**9", "result is too large"),
    ("10**100000", "result is too large"),
    ("2**4097", "result is too large"),
    ("(2**4000) * (2**4000)", "result is too large"),
    ("(-7)**99999", "result is too large"),
    ("1.0000001 ** 10**9", "exponent is too large"),
    ("2.0 ** 5000", "cannot compute"),
    ("exp(1000)", "cannot compute"),
    ("sqrt(-1)", "cannot compute"),
    ("log(0)", "cannot compute"),
    ("(-8) ** 0.5", "not a real number"),
    ("1 / 0", "division by zero"),
    ("1 // 0", "division by zero"),
    ("5 % 0", "division by zero"),
    ("0 ** -1", "division by zero"),
    ("(" * 249 + "1" + ")" * 249, "not a valid arithmetic expression"),  # parser's nest limit
    ("-" * 300 + "1", "too complex"),
    ("+".join(["1"] * (MAX_NODES // 2 + 1)), "too complex"),
    ("1+" * MAX_CHARS + "1", f"longer than {MAX_CHARS} characters"),
    ("import os", "not a valid arithmetic expression"),
    ("1; 2", "not a valid arithmetic expression"),
    ("", "not a valid arithmetic expression"),
]


@pytest.mark.parametrize(("expression", "reason"), ATTACKS, ids=[a[0][:40] for a in ATTACKS])
def test_refuses_with_a_clear_reason_and_quickly(expression: str, reason: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidExpression) as caught:
        evaluate(expression)
    assert time.perf_counter() - started < QUICK_SECONDS
    assert reason in str(caught.value)


def test_the_refusal_quotes_the_offending_part_not_the_whole_expression() -> None:
    with pytest.raises(InvalidExpression) as caught:
        evaluate("1 + 2 * ().__class__")
    assert str(caught.value) == "'().__class__' is not allowed in an arithmetic expression"


def test_a_power_tower_is_stopped_before_it_is_computed() -> None:
    # 82 nodes, well within the size limits; 10 ** (2 ** 65536 ...) must not be attempted.
    assert evaluate("(" * 99 + "1" + ")" * 99) == 1  # deep but tiny is fine
    started = time.perf_counter()
    with pytest.raises(InvalidExpression, match="result is too large"):
        evaluate("10 ** " + " ** ".join(["2"] * 40))
    assert time.perf_counter() - started < QUICK_SECONDS


@pytest.mark.parametrize("expression", ["min()", "sqrt(1, 2)", "max(1)", "round(1.5, 2.5)"])
def test_wrong_argument_counts_are_invalid_expressions(expression: str) -> None:
    with pytest.raises(InvalidExpression):
        evaluate(expression)


# --- the tool ------------------------------------------------------------------------


def test_the_tool_turns_refusals_into_model_retries() -> None:
    assert calculator("6 * 7") == 42
    with pytest.raises(ModelRetry) as caught:
        calculator("__import__('os')")
    assert "Cannot evaluate \"__import__('os')\"" in caught.value.message
    assert "is not allowed" in caught.value.message
    with pytest.raises(ModelRetry, match="division by zero"):
        calculator("1/0")
    with pytest.raises(ModelRetry, match="result is too large"):
        calculator("9**9**9")


def _returns(messages: list[ModelMessage], outcome: str) -> list[str]:
    """The contents of the tool returns with this outcome (a `ModelRetry` is `retried`)."""
    return [
        str(part.content)
        for m in messages
        if isinstance(m, ModelRequest)
        for part in m.parts
        if isinstance(part, ToolReturnPart) and part.outcome == outcome
    ]


async def test_the_model_is_asked_to_retry_and_can_recover() -> None:
    registry = ToolRegistry(InProcessToolStateStore())
    registry.register(calculator)
    expressions = iter(["9**9**9", "9**9"])

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        ok = _returns(messages[-1:], "success")
        if ok:
            return ModelResponse(parts=[TextPart(f"result: {ok[0]}")])
        expression = next(expressions)
        return ModelResponse(parts=[ToolCallPart("calculator", {"expression": expression})])

    toolset = registry.toolset_for(AgentDefinition(name="calc", tools=("calculator",)))
    agent = Agent(FunctionModel(respond), deps_type=AgentDeps, toolsets=[toolset])
    result = await agent.run("how big is 9**9**9?", deps=AgentDeps(user_id=uuid4()))
    assert result.output == f"result: {9**9}"
    (retry,) = _returns(result.all_messages(), "retried")
    assert retry == "Cannot evaluate '9**9**9': result is too large."


async def test_invoke_reports_a_refused_expression_as_invalid_input() -> None:
    registry = ToolRegistry(InProcessToolStateStore())
    registry.register(calculator)
    assert await invoke(registry, "calculator", {"expression": "2**10"}, CALLER) == 1024
    with pytest.raises(ValidationFailed) as caught:
        await invoke(registry, "calculator", {"expression": "1/0"}, CALLER)
    assert "division by zero" in caught.value.message
    assert http_status(caught.value) == 422
