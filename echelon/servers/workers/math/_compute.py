"""The sympy computations behind the algebra and calculus tools, as plain functions of the tools' arguments.

``_limit.run_limited`` runs them by name in a child process of a forkserver that has this module (and sympy)
loaded; the worker's own process never imports it.
"""

from __future__ import annotations

import math
from typing import Any

import sympy

from echelon.servers.workers.math._parse import parse_equation, parse_expression, parse_symbol
from echelon.servers.workers.math._results import (
    Evaluation,
    IntegralResult,
    MathError,
    Solution,
    Solutions,
    Transformed,
)


def _float(value: Any) -> float | None:
    """A finite real float, or None (complex, infinite, symbolic, or too large)."""
    try:
        number = complex(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if number.imag != 0 or not math.isfinite(number.real):
        return None
    return number.real


def _numeric(expr: sympy.Expr, digits: int = 15) -> str | None:
    return str(expr.evalf(digits)) if expr.is_number else None


def evaluate(expression: str, numeric: bool, precision: int) -> Evaluation:
    expr = parse_expression(expression)
    exact = str(expr)
    return Evaluation(
        expression=expression.strip(),
        result=str(expr.evalf(precision)) if numeric else exact,
        exact=exact,
        numeric=_numeric(expr, precision),
        value=_float(expr.evalf(17)) if expr.is_number else None,
        latex=sympy.latex(expr),
        free_symbols=sorted(str(s) for s in expr.free_symbols),
    )


def solve(equations: str | list[str], variables: list[str] | None) -> Solutions:
    texts = [equations] if isinstance(equations, str) else equations
    if not texts:
        raise MathError("no equations given")
    exprs = [parse_equation(t) for t in texts]
    if variables:
        symbols = [parse_symbol(v) for v in variables]
    else:
        symbols = sorted(set().union(*(e.free_symbols for e in exprs)), key=str)
    if not symbols:
        raise MathError("nothing to solve for: the equations contain no variables")
    try:
        # A lone equation goes in bare: given as a one-element system, sympy drops CRootOf solutions.
        found: list[dict[Any, Any]] = sympy.solve(exprs[0] if len(exprs) == 1 else exprs, symbols, dict=True)
    except NotImplementedError as exc:
        raise MathError(f"sympy cannot solve this in closed form: {exc}") from None
    solutions = [
        Solution(
            values={str(k): str(v) for k, v in sol.items()},
            numeric={str(k): f for k, v in sol.items() if (f := _float(v.evalf(17))) is not None},
        )
        for sol in found
    ]
    return Solutions(
        equations=[f"{e} = 0" for e in exprs],
        variables=[str(s) for s in symbols],
        solutions=solutions,
        count=len(solutions),
    )


def simplify(expression: str) -> Transformed:
    expr = parse_expression(expression)
    result = sympy.simplify(expr)
    return Transformed(input=str(expr), result=str(result), latex=sympy.latex(result))


def differentiate(expression: str, variable: str, order: int) -> Transformed:
    expr, symbol = parse_expression(expression), parse_symbol(variable)
    result = sympy.diff(expr, symbol, order)
    return Transformed(input=str(expr), result=str(result), latex=sympy.latex(result))


def integrate(
    expression: str, variable: str, lower: str | float | None, upper: str | float | None
) -> IntegralResult:
    expr, symbol = parse_expression(expression), parse_symbol(variable)
    if (lower is None) != (upper is None):
        raise MathError("give both lower and upper for a definite integral, or neither for an antiderivative")
    if lower is None or upper is None:
        result = sympy.integrate(expr, symbol)
        numeric_source = None
    else:
        limits = (symbol, parse_expression(str(lower)), parse_expression(str(upper)))
        result = sympy.integrate(expr, limits)
        # Without a closed form, evaluate the integral itself numerically (quadrature).
        numeric_source = result if not result.has(sympy.Integral) else sympy.Integral(expr, limits)
    return IntegralResult(
        input=str(expr),
        definite=numeric_source is not None,
        result=str(result),
        latex=sympy.latex(result),
        evaluated=not result.has(sympy.Integral),
        numeric=_numeric(numeric_source) if numeric_source is not None else None,
        value=_float(numeric_source.evalf(17))
        if numeric_source is not None and numeric_source.is_number
        else None,
    )
