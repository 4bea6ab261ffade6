"""Results of a question-set run: one judged row per question and system, totals per system and half, tables."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from ._runs import SystemRun


class Row(BaseModel):
    """One system's answer to one question, judged."""

    id: str
    kind: str
    half: str
    run: int
    right: bool
    reasons: list[str] = Field(default_factory=list, description="Why it is wrong (empty when right)")
    result: SystemRun


class Total(BaseModel):
    system: str
    half: str
    questions: int
    right: int
    hit_rate: float
    median_seconds: float
    min_seconds: float
    max_seconds: float
    median_model_calls: float


def totals(rows: Sequence[Row]) -> list[Total]:
    """Per system and half (and ``all`` when both halves ran): hit rate, wall time, model calls."""
    out: list[Total] = []
    for system in dict.fromkeys(r.result.system for r in rows):
        mine = [r for r in rows if r.result.system == system]
        halves = list(dict.fromkeys(r.half for r in mine))
        groups = [(h, [r for r in mine if r.half == h]) for h in halves]
        if len(halves) > 1:
            groups.append(("all", mine))
        for half, group in groups:
            walls = [r.result.wall_seconds for r in group]
            out.append(
                Total(
                    system=system,
                    half=half,
                    questions=len(group),
                    right=sum(r.right for r in group),
                    hit_rate=sum(r.right for r in group) / len(group),
                    median_seconds=statistics.median(walls),
                    min_seconds=min(walls),
                    max_seconds=max(walls),
                    median_model_calls=statistics.median(r.result.llm_calls for r in group),
                )
            )
    return out


ROW_HEADER = ("id", "kind", "half", "system", "right", "calls", "tok in", "tok out", "sec", "answer")


def row_cells(row: Row) -> tuple[str, ...]:
    r = row.result
    shown = " ".join((r.answer or f"[{r.status}] {r.error or ''}").split())[:80]
    return (
        row.id,
        row.kind,
        row.half,
        r.system,
        "right" if row.right else "WRONG",
        str(r.llm_calls),
        str(r.input_tokens),
        str(r.output_tokens),
        f"{r.wall_seconds:.1f}",
        shown,
    )


def total_cells(t: Total) -> tuple[str, ...]:
    return (
        t.system,
        t.half,
        f"{t.right}/{t.questions}",
        f"{100 * t.hit_rate:.0f}%",
        f"{t.median_seconds:.1f}",
        f"{t.min_seconds:.1f}",
        f"{t.max_seconds:.1f}",
        f"{t.median_model_calls:g}",
    )


TOTAL_HEADER = ("system", "half", "right", "hit rate", "median s", "min s", "max s", "median calls")


def table(rows: Iterable[tuple[str, ...]]) -> str:
    """Rows as aligned columns."""
    rows = list(rows)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def line(cells: tuple[str, ...], widths: Sequence[int]) -> str:
    """One row, padded to ``widths`` (printed as it comes, before the other rows exist)."""
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
