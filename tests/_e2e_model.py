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


def _called(request: ModelRequest) -> dict[str, Any]:
    """The call a tool-runner request names: its text is ``{"tool": ..., "arguments": {...}}``."""
    text = request.messages[-1].content
    start = text.index('{"tool"')
    return json.JSONDecoder().raw_decode(text[start:])[0]


def build_tool_runner(role: Any = None) -> Model:
    """A model that makes the one call its request names (a JSON ``{"tool", "arguments"}`` as the request), on the
    numbers manager's calc worker, then answers: for tests of what happens while a real call runs."""

    def plan(request: ModelRequest) -> Answer:
        call = json.dumps(_called(request))
        phase = {"name": "Run", "worker": "numbers", "goals": f"Make this call: {call}"}
        return {"plan": {"phases": [phase], "primary_worker": "numbers"}}

    def steps(request: ModelRequest) -> Answer:
        call = json.dumps(_called(request))
        return {"plan": {"steps": [{"name": "Call", "worker": "calc", "goals": f"Make this call: {call}"}]}}

    def step(request: ModelRequest) -> Answer:
        if request.messages[-1].role == "tool":
            return "The call is done."
        call = _called(request)
        return tool_call(call["tool"], **call["arguments"])

    return PurposeModel({"plan_phases": plan, "plan_steps": steps, "step": step}, name="test:tool-runner")


def build_script_runner(role: Any = None) -> Model:
    """A model for runs of several phases, one after another, each making the one call the request names for it:
    the request is ``{"phases": [{"name", "tool", "arguments", "manager"?, "worker"?}, ...]}``; a phase goes to
    the numbers manager and its calc worker unless it names others."""

    def script(request: ModelRequest) -> list[dict[str, Any]]:
        text = next(m.content for m in request.messages if '{"phases"' in m.content)
        return json.JSONDecoder().raw_decode(text[text.index('{"phases"') :])[0]["phases"]

    def plan(request: ModelRequest) -> Answer:
        phases = script(request)
        nodes = [
            {
                "name": p["name"],
                "worker": p.get("manager", "numbers"),
                "goals": "Make this call: "
                + json.dumps(
                    {"tool": p["tool"], "arguments": p["arguments"], "worker": p.get("worker", "calc")}
                ),
                "depends_on": [phases[i - 1]["name"]] if i else [],
            }
            for i, p in enumerate(phases)
        ]
        return {"plan": {"phases": nodes, "primary_worker": nodes[-1]["worker"]}}

    def steps(request: ModelRequest) -> Answer:
        call = _called(request)
        worker = call.pop("worker", "calc")
        return {
            "plan": {
                "steps": [{"name": "Call", "worker": worker, "goals": f"Make this call: {json.dumps(call)}"}]
            }
        }

    def step(request: ModelRequest) -> Answer:
        if request.messages[-1].role == "tool":
            return "The call is done."
        call = _called(request)
        return tool_call(call["tool"], **call["arguments"])

    answers = {
        "plan_phases": plan,
        "plan_steps": steps,
        "step": step,
        "synthesis": {"answer": "All calls are done."},
    }
    return PurposeModel(answers, name="test:script-runner")  # type: ignore[arg-type]


def build_refusing(role: Any = None) -> Model:
    """A model that fails every request: a run on it proves it made no model call."""
    return PurposeModel({}, name="test:refusing")
