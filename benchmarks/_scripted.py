"""The cheapest real delegation: one phase, the router's planned call, no synthesis tool loop.

Resolved in each process by ``ECHELON_MODEL=python:benchmarks._scripted:build``; measures echelon's own overhead.
"""

from __future__ import annotations

from typing import Any

from echelon.servers.core.llm import Model, ModelRequest
from echelon.servers.core.testing import Answer, FunctionModel

PLAN = {
    "plan": {"phases": [{"name": "Add", "worker": "numbers", "goals": "add"}], "primary_worker": "numbers"}
}
STEP = {
    "step": {"name": "Add", "worker": "calc", "goals": "add", "tool": "add", "arguments": {"a": 1, "b": 2}}
}


def _answer(request: ModelRequest) -> Answer:
    if "strategic planner" in request.system:
        return PLAN
    if '{"step":' in request.system:
        return STEP
    return {"answer": "1 + 2 = 3", "goal_met": True}


def build(role: Any = None) -> Model:
    return FunctionModel(_answer, name="bench:scripted")
