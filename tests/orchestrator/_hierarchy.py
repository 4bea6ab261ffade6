"""A small real hierarchy for tests: two managers over toy worker servers, every level in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer

from echelon.servers.core.config import HierarchyConfig, parse_config
from echelon.servers.core.llm import Model
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.managers.server import build_server as build_manager
from echelon.servers.orchestrator.server import build_server as build_orchestrator
from tests._toy_servers import build_calc_server, build_deck_server


def adding_model(
    a: float, b: float, *answers: dict[str, Any], goals: str | None = None, name: str = "test:numbers"
) -> ScriptedModel:
    """The numbers manager's model for one phase: plan one ``add(a, b)`` call (made without a model), then give
    ``answers`` in turn as the phase's synthesis (more than one when a policy sends one back)."""
    step = {
        "name": "Add",
        "worker": "calc",
        "goals": goals or f"add {a:g} and {b:g}",
        "tool": "add",
        "arguments": {"a": a, "b": b},
    }
    return ScriptedModel([{"plan": {"steps": [step]}}, *answers], name=name)


def looping_model(a: float, b: float, answer: str, *more: Any, name: str = "test:numbers") -> ScriptedModel:
    """The numbers manager's model for one phase of one step run by the tool loop: plan the step, call
    ``add(a, b)``, answer ``answer`` (the phase's answer as it is: one step needs no synthesis), then ``more``."""
    step = {"name": "Add", "worker": "calc", "goals": f"add {a:g} and {b:g}"}
    return ScriptedModel([{"plan": {"steps": [step]}}, tool_call("add", a=a, b=b), answer, *more], name=name)


def toy_config(*, synthesis: bool = False, extra: dict[str, Any] | None = None) -> HierarchyConfig:
    """Two managers, one of which makes files. The plan's ``asks_for`` decides whether a file is made
    (``deliverables = "plan"``), so scripted orchestrators need no answer to the file question; the tests of that
    question set ``deliverables = "question"``."""
    data: dict[str, Any] = {
        "orchestrator": {"synthesis": synthesis, "deliverables": "plan"},
        "managers": {
            "numbers": {"description": "Arithmetic on numbers", "workers": ["calc"]},
            "content": {
                "description": "Decks",
                "workers": ["deck"],
                "planner": "router",
                "delivers": "files",
            },
        },
        "workers": {
            "calc": {"command": "calc-server", "description": "a calculator"},
            "deck": {"command": "deck-server", "description": "writes decks"},
        },
    }
    for key, value in (extra or {}).items():
        data[key] = {**data.get(key, {}), **value}
    return parse_config(data, file="toy.toml")


def build_hierarchy(
    tmp: Path,
    *,
    orchestrator: Model,
    numbers: Model,
    content: Model,
    synthesis: bool = False,
    config: HierarchyConfig | None = None,
    calc: Target | None = None,
) -> MCPServer[Any]:
    """The toy hierarchy; ``calc`` replaces the in-process calculator worker (e.g. with a stdio command)."""
    config = config or toy_config(synthesis=synthesis)
    calc = calc or Target.in_process(build_calc_server())
    managers = {
        "numbers": build_manager(config, "numbers", model=numbers, worker_targets={"calc": calc}),
        "content": build_manager(
            config,
            "content",
            model=content,
            worker_targets={"deck": Target.in_process(build_deck_server(str(tmp)))},
        ),
    }
    return build_orchestrator(
        config, model=orchestrator, manager_targets={k: Target.in_process(s) for k, s in managers.items()}
    )
