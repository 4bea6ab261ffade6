"""A deterministic model for wiring runs of the question benchmark: ``--model python:tests.benchmarks._wiring_model:build``.

It answers by purpose, in every process of the hierarchy and in the flat agent alike: one data phase, one math step,
a call of the math worker's ``evaluate`` on ``17.5/100*2480``, and an answer that states the result. So the
``math-percent-of`` question comes out right through both systems without any real model.
"""

from __future__ import annotations

import json
import re
from typing import Any

from echelon.servers.core.llm import Model, ModelRequest
from echelon.servers.core.testing import Answer, PurposeModel, tool_call

PLAN = {
    "plan": {
        "asks_for": ["figure"],
        "phases": [
            {"name": "Compute", "worker": "data", "goals": "Compute 17.5% of 2,480", "depends_on": []}
        ],
        "primary_worker": "data",
        "rationale": "one calculation",
    }
}
STEPS = {"plan": {"steps": [{"name": "Compute", "worker": "math", "goals": "Compute 17.5% of 2,480"}]}}


def _step(request: ModelRequest) -> Answer:
    last = request.messages[-1]
    if last.role == "tool":
        value = json.JSONDecoder().raw_decode(last.content)[0]["value"]
        return f"17.5% of 2,480 is {value:g}."
    evaluate = next((t.name for t in request.tools if t.name.endswith("evaluate")), None)
    if evaluate is None:
        return "No calculator was offered."
    return tool_call(evaluate, expression="17.5/100*2480", numeric=True)


def _synthesis(request: ModelRequest) -> Answer:
    found = re.search(r"17\.5% of 2,480 is [\d.]+\.", " ".join(m.content for m in request.messages))
    return {"answer": found.group(0) if found else "unknown", "goal_met": bool(found), "missing": ""}


def build(role: Any = None) -> Model:
    return PurposeModel(
        {"plan_phases": PLAN, "plan_steps": STEPS, "step": _step, "synthesis": _synthesis},
        name="test:wiring",
    )
