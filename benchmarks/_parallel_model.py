"""A scripted model whose plans have no dependencies: ``ECHELON_MODEL=python:benchmarks._parallel_model:build``.

The request carries its plan as JSON, as for ``tests._e2e_model:build_script_runner`` (``tests._runs.script``):
``{"phases": [{"name", "tool", "arguments"}, ...]}``. That runner chains its phases (each depends on the one
before); this one plans them all independent, so the orchestrator may run them at once, and routes each phase of
the ``numbers`` manager to the one pinned call its goals name on the calc worker (no step model call). It measures
whether independent phases really overlap.
"""

from __future__ import annotations

import json
from typing import Any

from echelon.servers.core.llm import Model, ModelRequest
from echelon.servers.core.testing import Answer, PurposeModel


def _json_after(request: ModelRequest, marker: str) -> dict[str, Any]:
    """The first JSON object starting with ``marker`` in the request's messages."""
    text = next(m.content for m in reversed(request.messages) if marker in m.content)
    return json.JSONDecoder().raw_decode(text[text.index(marker) :])[0]


def _plan(request: ModelRequest) -> Answer:
    phases = _json_after(request, '{"phases"')["phases"]
    nodes = [
        {
            "name": p["name"],
            "worker": "numbers",
            "goals": "Make this call: " + json.dumps({"tool": p["tool"], "arguments": p["arguments"]}),
            "depends_on": [],
        }
        for p in phases
    ]
    return {"plan": {"phases": nodes, "primary_worker": "numbers"}}


def _route(request: ModelRequest) -> Answer:
    call = _json_after(request, '{"tool"')
    step = {"name": "Call", "worker": "calc", "goals": "the call", **call}
    return {"step": step}


def build(role: Any = None) -> Model:
    answers = {
        "plan_phases": _plan,
        "route_step": _route,
        "synthesis": {"answer": "All calls are done.", "goal_met": True},
    }
    return PurposeModel(answers, name="bench:parallel")  # type: ignore[arg-type]
