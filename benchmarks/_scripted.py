"""The cheapest real delegation: one phase, the router's planned call, one synthesis.

Resolved in each process by ``ECHELON_MODEL=python:benchmarks._scripted:build``; measures echelon's own overhead.
"""

from __future__ import annotations

from typing import Any

from echelon.servers.core.llm import Model
from echelon.servers.core.testing import PurposeModel

PLAN = {
    "plan": {"phases": [{"name": "Add", "worker": "numbers", "goals": "add"}], "primary_worker": "numbers"}
}
STEP = {
    "step": {"name": "Add", "worker": "calc", "goals": "add", "tool": "add", "arguments": {"a": 1, "b": 2}}
}


def build(role: Any = None) -> Model:
    return PurposeModel(
        {"plan_phases": PLAN, "route_step": STEP, "synthesis": {"answer": "1 + 2 = 3", "goal_met": True}},
        name="bench:scripted",
    )


ROWS_SQL = "SELECT * FROM regions ORDER BY region_id LIMIT 5"
ROWS_PLAN = {
    "plan": {"phases": [{"name": "Rows", "worker": "data", "goals": "five rows"}], "primary_worker": "data"}
}
ROWS_STEP = {
    "step": {
        "name": "Rows",
        "worker": "sql",
        "goals": "rows",
        "tool": "run_query",
        "arguments": {"sql": ROWS_SQL},
    }
}


def build_rows(role: Any = None) -> Model:
    """One phase whose routed step is a 5-row ``run_query``: what a phase result carries per tool result."""
    return PurposeModel(
        {
            "plan_phases": ROWS_PLAN,
            "route_step": ROWS_STEP,
            "synthesis": {"answer": "Five regions.", "goal_met": True},
        },
        name="bench:rows",
    )
