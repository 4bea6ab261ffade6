"""A deterministic model for end-to-end runs across real processes: ``ECHELON_MODEL=python:tests._e2e_model:build``.

Every level (orchestrator, each manager) resolves it in its own process; it answers by looking at which prompt it is
given, so a three-level run over stdio is reproducible without any real model.
"""

from __future__ import annotations

import json
import re
from typing import Any

from echelon.servers.core.llm import Model, ModelRequest
from echelon.servers.core.testing import Answer, FunctionModel, tool_call


def _answer(request: ModelRequest) -> Answer:
    system, last = request.system, request.messages[-1].content
    if "strategic planner" in system:
        return {
            "plan": {
                "phases": [
                    {"name": "Compute", "worker": "numbers", "goals": "Add 20 and 22", "depends_on": []},
                    {
                        "name": "Deck",
                        "worker": "content",
                        "goals": "A deck with the sum",
                        "depends_on": ["Compute"],
                    },
                ],
                "primary_worker": "numbers",
                "rationale": "compute, then present",
            }
        }
    if '{"plan": {"steps"' in system:
        return {"plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "Add 20 and 22"}]}}
    if '{"step":' in system:
        figure = re.search(r"The sum is (\d+)", last)
        bullets = [f"Sum: {figure.group(1) if figure else '?'}"]
        return {
            "step": {
                "name": "Deck",
                "worker": "deck",
                "goals": "deck",
                "tool": "make_deck",
                "arguments": {"title": "Sum deck", "bullets": bullets},
            }
        }
    if "carrying out one step" in system:
        if request.messages[-1].role == "tool":
            # The result is the tool's JSON, then the step runner's hint that the model may answer now.
            value = json.JSONDecoder().raw_decode(request.messages[-1].content)[0]["value"]
            return f"The sum is {value:g}."
        return tool_call("add", a=20, b=22)
    if '"goal_met"' in system:
        found = re.search(r"The sum is \d+\.|file: \S+", last)
        return {"answer": found.group(0) if found else last[-200:], "goal_met": True, "missing": ""}
    return {"answer": "unexpected prompt"}


def build(role: Any = None) -> Model:
    return FunctionModel(_answer, name="test:e2e")
