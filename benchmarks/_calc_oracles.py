"""Oracles that compute: arithmetic with sympy, clock times with zoneinfo, and what a SQL query computes."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import sympy

from ._demo import Demo, OracleError
from ._expected import Expected, ExpectedFigure, Spec
from ._sql_concepts import concepts

# Arithmetic answers are exact: allow the rounding an answer shows, and a hair more.
REL_TOL = 0.0005


def _one(label: str, value: sympy.Expr, unit: str = "number") -> Expected:
    number = float(sympy.N(value, 15))
    figure = ExpectedFigure.model_validate(
        {"label": label, "values": [number], "unit": unit, "rel_tol": REL_TOL}
    )
    return Expected(shown=f"{number:,.4f}", answer=Spec(figures=[figure]))


def percent_of(_demo: Demo, percent: str, of: str) -> Expected:
    return _one(f"{percent}% of {of}", sympy.Rational(percent) / 100 * sympy.Rational(of))


def compound(_demo: Demo, principal: str, rate_percent: str, years: int) -> Expected:
    """What ``principal`` grows to at ``rate_percent`` a year, compounded yearly, after ``years``."""
    value = sympy.Rational(principal) * (1 + sympy.Rational(rate_percent) / 100) ** years
    return _one("the final amount", value, "money")


def cagr(_demo: Demo, start: str, end: str, years: int) -> Expected:
    """The compound annual growth rate from ``start`` to ``end`` over ``years``, in percent."""
    value = ((sympy.Rational(end) / sympy.Rational(start)) ** sympy.Rational(1, years) - 1) * 100
    return _one("the compound annual growth rate", value, "percent")


def roots(_demo: Demo, expression: str, variable: str = "x") -> Expected:
    """Every real root of ``expression = 0``; each must be stated with its sign."""
    x = sympy.Symbol(variable)
    solutions = [s for s in sympy.solve(sympy.sympify(expression), x) if s.is_real]
    if not solutions:
        raise OracleError(f"{expression} = 0 has no real root")
    figures = [
        ExpectedFigure(label=f"{variable} = {s}", values=[float(s)], sign="exact", rel_tol=REL_TOL)
        for s in solutions
    ]
    return Expected(shown=", ".join(f"{variable} = {s}" for s in solutions), answer=Spec(figures=figures))


def convert_time(demo: Demo, source: str, time: str, target: str) -> Expected:
    """``time`` (HH:MM) in zone ``source`` as a clock time in ``target``, on today's date in ``source`` (as the time
    worker converts)."""
    zone, to = ZoneInfo(source), ZoneInfo(target)
    hour, minute = (int(p) for p in time.split(":"))
    # Today in the source zone, as the worker takes it; a Demo pinned to another day (tests) uses that day.
    day = datetime.now(zone).date() if demo.today == date.today() else demo.today
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(to)
    shown = f"{moment:%H:%M} in {target} ({time} in {source} on {day.isoformat()})"
    return Expected(shown=shown, answer=Spec(times=[f"{moment:%H:%M}"]))


def sql_explain(_demo: Demo, query: str) -> Expected:
    """The key concepts of ``query``, read from its syntax tree."""
    found = concepts(query)
    return Expected(shown="mentions: " + "; ".join(words[0] for words in found), answer=Spec(concepts=found))
