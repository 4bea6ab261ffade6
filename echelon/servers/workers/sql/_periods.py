"""Periods as the SQL worker's tools accept them: a year, a quarter, a month or a date range on ISO date text, a
range of years, or a period relative to today ("last year", "this quarter"), which a caller writes as often as a
date and which means the same thing to the worker as to the person who asked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

PERIOD_FORMATS = (
    "'2025' (a year), '2025-Q3' (a quarter), '2025-03' (a month), '2025-01-01..2025-06-30' (dates), "
    "'2024..2025' (years), or 'last year', 'this year', 'last quarter', 'last month' (from today)"
)

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")
_YEARS = re.compile(r"^(\d{4})\s*(?:\.\.|-|–|to)\s*(\d{4})$", re.IGNORECASE)
# Words joined as an identifier would be ("last_year", "this-quarter") are the same period.
_RELATIVE = re.compile(r"^(last|previous|this|current)[\s_-]+(year|quarter|month)$", re.IGNORECASE)

PeriodKind = Literal["year", "years", "quarter", "month", "dates"]


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    text: str
    # SQL over the placeholder {col} with one ? per parameter; it compares text prefixes, so it works for
    # '2025-03' and for full dates alike.
    condition: str
    params: tuple[str, ...]
    start: str = ""  # the first day it covers, as ISO text: periods of any form order by it

    def __lt__(self, other: Period) -> bool:
        return self.start < other.start


def parse_period(text: str, today: date | None = None) -> Period:
    """A period as a prefix condition on an ISO date/text column; ValueError names the accepted formats.
    ``today`` (default: the date now) anchors relative periods."""
    value = " ".join(text.strip().split())
    if m := _RELATIVE.match(value):
        return parse_period(_absolute(m.group(1).lower(), m.group(2).lower(), today or date.today()))
    if m := _YEARS.match(value):
        first, last = m.group(1), m.group(2)
        if first > last:
            raise ValueError(f"period {text!r} ends before it starts")
        if first == last:
            return parse_period(first)
        return Period(
            "years",
            f"{first}..{last}",
            "substr({col}, 1, 4) BETWEEN ? AND ?",
            (first, last),
            f"{first}-01-01",
        )
    if m := _YEAR.match(value):
        return Period("year", value, "substr({col}, 1, 4) = ?", (m.group(1),), f"{value}-01-01")
    if m := _QUARTER.match(value):
        year, quarter = m.group(1), int(m.group(2))
        months = tuple(f"{year}-{month:02d}" for month in range(3 * quarter - 2, 3 * quarter + 1))
        return Period(
            "quarter", f"{year}-Q{quarter}", "substr({col}, 1, 7) IN (?, ?, ?)", months, f"{months[0]}-01"
        )
    if m := _MONTH.match(value):
        return Period("month", value, "substr({col}, 1, 7) = ?", (value,), f"{value}-01")
    if m := _RANGE.match(value):
        start, end = m.group(1), m.group(2)
        if start > end:
            raise ValueError(f"period {text!r} ends before it starts")
        # The start cut to the column's own precision, so a month column's '2025-01' is in 2025-01-01..
        return Period(
            "dates",
            f"{start}..{end}",
            "substr({col}, 1, 10) BETWEEN substr(?, 1, length(substr({col}, 1, 10))) AND ?",
            (start, end),
            start,
        )
    raise ValueError(f"unknown period {text!r}: use {PERIOD_FORMATS}")


def _absolute(which: str, unit: str, today: date) -> str:
    """'last'/'this' year, quarter or month as of ``today``, in the absolute forms above."""
    back = 1 if which in ("last", "previous") else 0
    if unit == "year":
        return str(today.year - back)
    if unit == "quarter":
        index = today.year * 4 + (today.month - 1) // 3 - back
        return f"{index // 4}-Q{index % 4 + 1}"
    index = today.year * 12 + today.month - 1 - back
    return f"{index // 12}-{index % 12 + 1:02d}"
