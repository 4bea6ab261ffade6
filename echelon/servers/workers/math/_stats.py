"""Descriptive statistics, percent change and growth rates over plain lists of numbers.

Inputs arrive as floats. Changes, ratios and percentile interpolation read them as the decimals they print as
(``Fraction(repr(x))``), so 0.1 → 0.3 is exactly +200 %, not 199.99999999999997 %.
"""

from __future__ import annotations

import math
import statistics as stats
from fractions import Fraction
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

MAX_VALUES = 100_000
EXACT_LIMIT = 10_000


class Summary(BaseModel):
    count: int
    sum: float
    mean: float
    median: float
    modes: list[float] = Field(description="Most frequent value(s)")
    stdev: float | None = Field(description="Sample standard deviation (n-1); None for one value")
    variance: float | None = Field(description="Sample variance (n-1); None for one value")
    pstdev: float = Field(description="Population standard deviation (n)")
    pvariance: float = Field(description="Population variance (n)")
    min: float
    max: float
    range: float
    percentiles: dict[str, float] = Field(
        description="Requested percentiles (linear interpolation, inclusive)"
    )


class Change(BaseModel):
    old: float
    new: float
    change: float = Field(description="new - old")
    percent_change: float = Field(description="(new - old) / |old| * 100")
    ratio: float = Field(description="new / old")


class PeriodChange(BaseModel):
    period: int = Field(description="1 for the change from values[0] to values[1], and so on")
    from_value: float
    to_value: float
    change: float
    percent_change: float | None = Field(description="None when from_value is 0")


class Growth(BaseModel):
    periods: int
    changes: list[PeriodChange]
    total_change: float
    total_percent_change: float
    rate_per_period_percent: float = Field(description="Compound growth per period")
    periods_per_year: float
    years: float = Field(description="The years from the first value to the last")
    cagr_percent: float = Field(description="Compound annual growth rate over those years")


def _exact(value: float) -> Fraction:
    if not math.isfinite(value):
        raise ToolError(f"values must be finite numbers, got {value}")
    return Fraction(repr(value))


def _checked(values: list[float]) -> list[float]:
    if not values:
        raise ToolError("the list of values is empty; pass at least one number")
    if len(values) > MAX_VALUES:
        raise ToolError(f"too many values: {len(values)} (the limit is {MAX_VALUES})")
    if not all(math.isfinite(v) for v in values):
        raise ToolError("values must be finite numbers (no NaN or infinity)")
    return values


def percentile(ordered: list[float], p: float) -> float:
    """The p-th percentile of sorted values, interpolating linearly between closest ranks (Excel PERCENTILE.INC)."""
    rank = Fraction(repr(p)) / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    weight = rank - low
    return float(_exact(ordered[low]) + (_exact(ordered[high]) - _exact(ordered[low])) * weight)


_Number = TypeVar("_Number", float, Fraction)


def _moments(data: list[_Number]) -> dict[str, Any]:
    several = len(data) > 1
    return {
        "sum": float(sum(data)) if isinstance(data[0], Fraction) else math.fsum(data),
        "mean": float(stats.mean(data)),
        "median": float(stats.median(data)),
        "modes": [float(m) for m in stats.multimode(data)],
        "stdev": float(stats.stdev(data)) if several else None,
        "variance": float(stats.variance(data)) if several else None,
        "pstdev": float(stats.pstdev(data)),
        "pvariance": float(stats.pvariance(data)),
    }


def summarize(values: list[float], percentiles: list[float] | None) -> Summary:
    data = _checked(values)
    ordered = sorted(data)
    wanted = percentiles if percentiles is not None else [25.0, 50.0, 75.0]
    for p in wanted:
        if not 0 <= p <= 100:
            raise ToolError(f"percentiles must be between 0 and 100, got {p}")
    # Decimal-exact up to EXACT_LIMIT values (stdev of 0.1, 0.2, 0.3 is 0.1, not 0.09999999999999999); beyond
    # that, floats, which the statistics module still sums exactly as binary fractions, 5x faster.
    moments = _moments([_exact(v) for v in data]) if len(data) <= EXACT_LIMIT else _moments(data)
    return Summary(
        count=len(data),
        **moments,
        min=ordered[0],
        max=ordered[-1],
        range=float(_exact(ordered[-1]) - _exact(ordered[0])),
        percentiles={f"{p:g}": percentile(ordered, p) for p in wanted},
    )


def percent_change(old: float, new: float) -> Change:
    before, after = _exact(old), _exact(new)
    if before == 0:
        raise ToolError("percent change from 0 is undefined; the old value must not be 0")
    return Change(
        old=old,
        new=new,
        change=float(after - before),
        percent_change=float((after - before) / abs(before) * 100),
        ratio=float(after / before),
    )


def growth(values: list[float], periods_per_year: float | None = None, years: float | None = None) -> Growth:
    """The series' changes and compound rates. The time it spans is ``years`` when given (a start and an end some
    years apart), else one period per value step at ``periods_per_year`` (default 1)."""
    data = _checked(values)
    if len(data) < 2:
        raise ToolError("growth needs at least two values (a start and an end)")
    if years is not None and periods_per_year is not None:
        raise ToolError(
            "give years (the time from the first value to the last) or periods_per_year (how many of the "
            "values fall in one year), not both"
        )
    if years is not None and not (math.isfinite(years) and years > 0):
        raise ToolError(f"years must be a positive number, got {years}")
    periods = len(data) - 1
    per_year = periods / years if years is not None else (periods_per_year or 1.0)
    if not (math.isfinite(per_year) and per_year > 0):
        raise ToolError(f"periods_per_year must be a positive number, got {periods_per_year}")
    exact = [_exact(v) for v in data]
    first, last = exact[0], exact[-1]
    if first <= 0 or last < 0:
        raise ToolError(
            "compound growth needs a positive first value and a non-negative last value "
            f"(got first={data[0]}, last={data[-1]}); a zero or negative base has no growth rate"
        )
    changes = [
        PeriodChange(
            period=i,
            from_value=data[i - 1],
            to_value=data[i],
            change=float(exact[i] - exact[i - 1]),
            percent_change=float((exact[i] - exact[i - 1]) / abs(exact[i - 1]) * 100)
            if exact[i - 1]
            else None,
        )
        for i in range(1, len(data))
    ]
    ratio = float(last / first)
    try:
        per_period = (ratio ** (1 / periods) - 1) * 100
        cagr = (ratio ** (per_year / periods) - 1) * 100
    except OverflowError:
        raise ToolError("the growth rate is too large to represent as a float") from None
    return Growth(
        periods=periods,
        changes=changes,
        total_change=float(last - first),
        total_percent_change=float((last - first) / first * 100),
        rate_per_period_percent=per_period,
        periods_per_year=per_year,
        years=years if years is not None else periods / per_year,
        cagr_percent=cagr,
    )
