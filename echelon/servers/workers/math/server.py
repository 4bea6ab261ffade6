"""Math worker: exact and numeric math with sympy (evaluate, solve, simplify, calculus) and statistics.

Expressions are parsed by a safe allow-list parser (``_parse``); user text never reaches ``eval``. The sympy
work runs in a child process with a time limit (``_limit``); the statistics tools are plain arithmetic.
"""

# No `from __future__ import annotations`: tool signatures are read when the tools are registered.
import argparse
from collections.abc import Sequence
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from echelon import __version__
from echelon.servers.core.serve import serve_main
from echelon.servers.core.tooling import FIGURE_ARGUMENTS, answer_client_errors, tool
from echelon.servers.workers.math import _stats
from echelon.servers.workers.math._limit import run_limited
from echelon.servers.workers.math._results import Evaluation, IntegralResult, Solutions, Transformed

_PURE = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

INSTRUCTIONS = (
    "Exact and numeric math. Write expressions in Python/sympy syntax: 2*x (explicit *), x**2 or x^2, "
    "sqrt, sin, log, exp, pi, E, I, oo. Decimals are exact (0.1 is 1/10). Use statistics, percent_change "
    "and growth_rate for lists of numbers."
)

Expression = Annotated[str, Field(description="A math expression, e.g. 'x**2 + 2*x + 1' or 'sqrt(2)/2'")]
Variable = Annotated[str, Field(description="A variable name, e.g. 'x'")]
Bound = Annotated[str | float | None, Field(description="Integration bound, e.g. 0, 'pi/2' or 'oo'")]


def build_server(*, timeout_seconds: float = 10.0) -> MCPServer:
    """The math worker. Pure computation: no files, no network. Each sympy computation runs in a child
    process that is stopped after ``timeout_seconds``."""
    if not timeout_seconds > 0:
        raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds}")
    server = MCPServer("echelon-math", instructions=INSTRUCTIONS, version=__version__)

    @tool(server, annotations=_PURE)
    def evaluate(
        expression: Expression,
        numeric: Annotated[bool, Field(description="Return the decimal value as the result")] = False,
        precision: Annotated[int, Field(ge=1, le=1000, description="Significant digits of the decimal")] = 15,
    ) -> Evaluation:
        """Evaluate an expression exactly (e.g. sqrt(8) -> 2*sqrt(2)) and numerically, with its LaTeX."""
        return run_limited("evaluate", (expression, numeric, precision), timeout_seconds, Evaluation)

    @tool(server, annotations=_PURE)
    def solve(
        equations: Annotated[
            str | list[str],
            Field(
                description="One equation or a system: 'x**2 - 4 = 0', 'x^2 = 4', or an expression meaning = 0"
            ),
        ],
        variables: Annotated[
            list[str] | None, Field(description="Variables to solve for (default: every symbol)")
        ] = None,
    ) -> Solutions:
        """Solve an equation or a system of equations exactly; real solutions also come as floats."""
        return run_limited("solve", (equations, variables), timeout_seconds, Solutions)

    @tool(server, annotations=_PURE)
    def simplify(expression: Expression) -> Transformed:
        """Simplify an expression (e.g. sin(x)**2 + cos(x)**2 -> 1)."""
        return run_limited("simplify", (expression,), timeout_seconds, Transformed)

    @tool(server, annotations=_PURE)
    def differentiate(
        expression: Expression,
        variable: Variable,
        order: Annotated[int, Field(ge=1, le=20, description="How many times to differentiate")] = 1,
    ) -> Transformed:
        """Differentiate an expression with respect to a variable (order 1 by default)."""
        return run_limited("differentiate", (expression, variable, order), timeout_seconds, Transformed)

    @tool(server, annotations=_PURE)
    def integrate(
        expression: Expression, variable: Variable, lower: Bound = None, upper: Bound = None
    ) -> IntegralResult:
        """Integrate an expression: the antiderivative, or the definite integral when both bounds are given."""
        return run_limited("integrate", (expression, variable, lower, upper), timeout_seconds, IntegralResult)

    @tool(server, annotations=_PURE, meta={FIGURE_ARGUMENTS: ["values"]})
    def statistics(
        values: Annotated[list[float], Field(description="The numbers to summarize")],
        percentiles: Annotated[
            list[float] | None, Field(description="Percentiles to report, 0-100 (default 25, 50, 75)")
        ] = None,
    ) -> _stats.Summary:
        """Descriptive statistics: count, sum, mean, median, modes, sample and population stdev/variance,
        min, max, range and percentiles."""
        return _stats.summarize(values, percentiles)

    @tool(server, annotations=_PURE, meta={FIGURE_ARGUMENTS: ["old", "new"]})
    def percent_change(
        old: Annotated[float, Field(description="The starting value (not 0)")],
        new: Annotated[float, Field(description="The ending value")],
    ) -> _stats.Change:
        """Percent change from old to new, relative to |old| (so -10 -> -5 is +50 %)."""
        return _stats.percent_change(old, new)

    @tool(server, annotations=_PURE, meta={FIGURE_ARGUMENTS: ["values"]})
    def growth_rate(
        values: Annotated[
            list[float],
            Field(description="Values oldest first: a series one per period, or just a start and an end"),
        ],
        years: Annotated[
            float | None,
            Field(gt=0, description="The years from the first value to the last (e.g. 3 for 'over 3 years')"),
        ] = None,
        periods_per_year: Annotated[
            float | None,
            Field(
                gt=0,
                description="Instead of years: how many value steps make a year (4 quarterly, 12 monthly); "
                "default 1, a value a year",
            ),
        ] = None,
    ) -> _stats.Growth:
        """Period-over-period changes of a series, its compound growth rate per period and its CAGR (compound
        annual growth rate). For "from A to B over N years", pass values [A, B] and years N."""
        return _stats.growth(values, periods_per_year, years)

    return answer_client_errors(server)


def _add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout-seconds", type=float, default=10.0, help="time limit per computation")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m echelon.servers.workers.math [--timeout-seconds S]``."""
    serve_main(
        __doc__ or "Math worker",
        lambda args: build_server(timeout_seconds=args.timeout_seconds),
        _add_args,
        argv,
    )
