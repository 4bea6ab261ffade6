"""A deterministic model for end-to-end runs across real processes: ``ECHELON_MODEL=python:tests._e2e_model:build``.

Every level (orchestrator, each manager) resolves it in its own process; it answers by what each request is for
(``ModelRequest.purpose``), so a three-level run over stdio is reproducible without any real model.
"""

from __future__ import annotations

import json
import re
from typing import Any

from echelon.servers.core.llm import Model, ModelRequest
from echelon.servers.core.testing import Answer, PurposeModel, tool_call

PLAN = {
    "plan": {
        "asks_for": ["figure", "file"],
        "phases": [
            {"name": "Compute", "worker": "numbers", "goals": "Add 20 and 22", "depends_on": []},
            {"name": "Deck", "worker": "content", "goals": "A deck with the sum", "depends_on": ["Compute"]},
        ],
        "primary_worker": "numbers",
        "rationale": "compute, then present",
    }
}


def _route(request: ModelRequest) -> Answer:
    figure = re.search(r"The sum is (\d+)", request.messages[-1].content)
    bullets = [f"Sum: {figure.group(1) if figure else '?'}"]
    arguments = {"title": "Sum deck", "bullets": bullets}
    return {
        "step": {
            "name": "Deck",
            "worker": "deck",
            "goals": "deck",
            "tool": "make_deck",
            "arguments": arguments,
        }
    }


def _step(request: ModelRequest) -> Answer:
    last = request.messages[-1]
    if last.role == "tool":
        # The result is the tool's JSON, then the policies' notes for the model.
        value = json.JSONDecoder().raw_decode(last.content)[0]["value"]
        return f"The sum is {value:g}."
    return tool_call("add", a=20, b=22)


def _synthesis(request: ModelRequest) -> Answer:
    found = re.search(r"The sum is \d+\.|file: \S+", request.messages[-1].content)
    return {"answer": found.group(0) if found else "unknown", "goal_met": True, "missing": ""}


def build(role: Any = None) -> Model:
    return PurposeModel(
        {
            "plan_phases": PLAN,
            "plan_steps": {"plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "Add 20 and 22"}]}},
            "route_step": _route,
            "step": _step,
            "synthesis": _synthesis,
        },
        name="test:e2e",
    )
