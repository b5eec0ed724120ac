"""Safe arithmetic for the calculator tool: a whitelist walk over Python's AST, no `eval`.

Only numbers, + - * / // % **, parentheses, unary signs, a few math functions and the
constants pi and e are accepted. Size limits stop the classic denial-of-service inputs
(`9**9**9`, deeply nested expressions) before they cost anything.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

MAX_CHARS = 500
MAX_NODES = 200
MAX_INT_BITS = 4096

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., float | int]] = {
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "floor": math.floor,
    "ceil": math.ceil,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}


class InvalidExpression(ValueError):
    """The expression is not allowed or cannot be computed; the message says why."""


def evaluate(expression: str) -> int | float:
    if len(expression) > MAX_CHARS:
        raise InvalidExpression(f"expression is longer than {MAX_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise InvalidExpression("not a valid arithmetic expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise InvalidExpression("expression is too complex")
    try:
        value: int | float = _eval(tree.body)
        return value
    except ZeroDivisionError:
        raise InvalidExpression("division by zero") from None
    except (OverflowError, ValueError, TypeError) as exc:
        if isinstance(exc, InvalidExpression):
            raise
        raise InvalidExpression(f"cannot compute: {exc}") from None


def _eval(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _checked(_BINARY[type(node.op)](left, right))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _checked(_FUNCTIONS[node.func.id](*(_eval(a) for a in node.args)))
    raise InvalidExpression(f"'{ast.unparse(node)}' is not allowed in an arithmetic expression")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1:
        if exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise InvalidExpression("result is too large")
    elif abs(exponent) > 10_000:
        raise InvalidExpression("exponent is too large")


def _checked(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise InvalidExpression("result is too large")
    if isinstance(value, complex):
        raise InvalidExpression("result is not a real number")
    return value
