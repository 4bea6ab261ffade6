"""Measuring side by side: samples of a figure and of its baseline taken in turn, so machine noise (a shared host,
other jobs on its cores) hits both alike, then compared by their medians against a target.

Nothing here asserts: a benchmark reports what it measured, and a missed target is a line in the table.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Sampler = Callable[[], Awaitable[float]]
Step = Callable[[], Awaitable[None]]


@dataclass
class Series:
    """The samples of one figure, in the order taken, in ``unit``."""

    name: str
    unit: str
    samples: list[float] = field(default_factory=list[float])

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def minimum(self) -> float:
        return min(self.samples) if self.samples else math.nan

    @property
    def maximum(self) -> float:
        return max(self.samples) if self.samples else math.nan

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0-100), nearest rank: a value that was measured."""
        if not self.samples:
            return math.nan
        ordered = sorted(self.samples)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "samples": self.samples,
            "median": self.median,
            "min": self.minimum,
            "max": self.maximum,
        }


def record(series: Series, sample: Sampler) -> Step:
    """A step that takes one sample and appends it to ``series``."""

    async def step() -> None:
        series.samples.append(await sample())

    return step


async def interleave(runs: int, steps: Sequence[Step]) -> None:
    """Run ``runs`` rounds of every step in turn (baseline, subject, baseline, subject, ...). A step records its
    own samples (``record``), so one step may fill several series (the CPU time of each level)."""
    for _ in range(runs):
        for step in steps:
            await step()


@dataclass(frozen=True)
class Target:
    """A bound on a row's ratio of medians (``on="ratio"``) or on the subject's median itself (``on="value"``)."""

    limit: float
    on: Literal["ratio", "value"] = "ratio"
    strict: bool = False
    text: str = ""

    def met(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return value < self.limit if self.strict else value <= self.limit

    def label(self) -> str:
        if self.text:
            return self.text
        unit = "x" if self.on == "ratio" else ""
        return f"{'<' if self.strict else '<='} {self.limit:g}{unit}"


@dataclass
class Row:
    """One line of the table: a subject, its baseline (when it has one), the ratio of medians and the target."""

    measure: str
    subject: Series
    baseline: Series | None = None
    target: Target | None = None
    note: str = ""
    skipped: str = ""
    extra: dict[str, Any] = field(default_factory=dict[str, Any])

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.samples or not self.subject.samples:
            return None
        return self.subject.median / self.baseline.median if self.baseline.median else math.inf

    @property
    def met(self) -> bool | None:
        if self.target is None or self.skipped:
            return None
        value = self.ratio if self.target.on == "ratio" else self.subject.median
        return self.target.met(math.nan if value is None else value)

    def summary(self) -> dict[str, Any]:
        target = self.target
        return {
            "measure": self.measure,
            "baseline": self.baseline.summary() if self.baseline else None,
            "subject": self.subject.summary(),
            "ratio": self.ratio,
            "target": None
            if target is None
            else {"limit": target.limit, "on": target.on, "label": target.label()},
            "met": self.met,
            "note": self.note,
            "skipped": self.skipped,
            **({"extra": self.extra} if self.extra else {}),
        }


def skipped(measure: str, why: str) -> Row:
    """A row that could not be measured in this run, and why (with what would make it run)."""
    return Row(measure, Series(measure, ""), skipped=why)


def _number(value: float) -> str:
    if math.isnan(value):
        return "-"
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def cell(series: Series | None) -> str:
    """``median unit (min-max)``; one sample is shown alone."""
    if series is None or not series.samples:
        return ""
    text = f"{_number(series.median)} {series.unit}".strip()
    if len(series.samples) > 1:
        text += f" ({_number(series.minimum)}-{_number(series.maximum)})"
    return text


HEADER = ("measure", "baseline", "subject", "ratio", "target", "met")


def table_lines(rows: Sequence[Row]) -> list[str]:
    """The rows as aligned text lines (a header, then one line per row, notes after it)."""
    cells: list[tuple[str, ...]] = [HEADER]
    for row in rows:
        if row.skipped:
            cells.append((row.measure, "skipped", row.skipped, "", "", ""))
            continue
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        met = {None: "", True: "yes", False: "NO"}[row.met]
        target = row.target.label() if row.target else ""
        cells.append((row.measure, cell(row.baseline), cell(row.subject), ratio, target, met))
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    notes = [f"  {row.measure}: {row.note}" for row in rows if row.note]
    return [*lines, *(["notes:", *notes] if notes else [])]


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as null (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_json(path: Path, rows: Sequence[Row], about: dict[str, Any]) -> None:
    """Every sample, median, ratio and target, with ``about`` (date, commit, cpu count, runs) around them."""
    document = _finite({**about, "rows": [r.summary() for r in rows]})
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
