"""Periods as the SQL worker's tools accept them: a year, a quarter, a month or a date range on ISO date text."""

from __future__ import annotations

import re
from dataclasses import dataclass

PERIOD_FORMATS = (
    "'2025' (a year), '2025-Q3' (a quarter), '2025-03' (a month) or '2025-01-01..2025-06-30' (dates)"
)

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Period:
    text: str
    # SQL over the placeholder {col} with one ? per parameter; it compares text prefixes, so it works for
    # '2025-03' and for full dates alike.
    condition: str
    params: tuple[str, ...]
    start: str = ""  # the first day it covers, as ISO text: periods of any form order by it

    def __lt__(self, other: Period) -> bool:
        return self.start < other.start


def parse_period(text: str) -> Period:
    """A period as a prefix condition on an ISO date/text column; ValueError names the accepted formats."""
    value = text.strip()
    if m := _YEAR.match(value):
        return Period(value, "substr({col}, 1, 4) = ?", (m.group(1),), f"{value}-01-01")
    if m := _QUARTER.match(value):
        year, quarter = m.group(1), int(m.group(2))
        months = tuple(f"{year}-{month:02d}" for month in range(3 * quarter - 2, 3 * quarter + 1))
        return Period(f"{year}-Q{quarter}", "substr({col}, 1, 7) IN (?, ?, ?)", months, f"{months[0]}-01")
    if m := _MONTH.match(value):
        return Period(value, "substr({col}, 1, 7) = ?", (value,), f"{value}-01")
    if m := _RANGE.match(value):
        start, end = m.group(1), m.group(2)
        if start > end:
            raise ValueError(f"period {text!r} ends before it starts")
        # The start cut to the column's own precision, so a month column's '2025-01' is in 2025-01-01..
        return Period(
            f"{start}..{end}",
            "substr({col}, 1, 10) BETWEEN substr(?, 1, length(substr({col}, 1, 10))) AND ?",
            (start, end),
            start,
        )
    raise ValueError(f"unknown period {text!r}: use {PERIOD_FORMATS}")
