"""The orchestrator serving the conformance suite's tasks fixtures, for its tasks scenarios.

    ECHELON_MODEL=python:tests._e2e_model:build_script_runner \\
        python -m tests.conformance.fixture_orchestrator --config FILE --transport streamable-http --port N

The suite's tasks scenarios call fixed tools: ``greet`` (answers at once), ``slow_compute(seconds)`` and
``failing_job`` (answer with a task). Here the real orchestrator serves them, and the two task tools are
delegations like ``delegate``'s: a script for the deterministic test model that makes one call on the toy
calculator (``wait`` for ``seconds``; ``divide`` by zero, a phase that fails), so every task the suite creates,
polls and cancels is a durable run of the orchestrator's. ``FILE`` routes the ``numbers`` manager to that
calculator (``tests/conformance/run.py`` writes it).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from echelon.servers.core.config import load_config
from echelon.servers.core.serve import serve_main
from echelon.servers.core.tooling import tool
from echelon.servers.orchestrator._delegation import RunInput
from echelon.servers.orchestrator.server import build_server, new_run_id

LONGEST_WAIT = 600.0


class SlowCompute(BaseModel):
    seconds: float = Field(ge=0, le=LONGEST_WAIT)
    label: str = ""


def _run(name: str, tool_name: str, arguments: dict[str, Any]) -> RunInput:
    script = {"phases": [{"name": name, "tool": tool_name, "arguments": arguments}]}
    return RunInput(run_id=new_run_id(), request=json.dumps(script))


def slow_compute_run(arguments: dict[str, Any]) -> RunInput:
    """A delegation that waits ``seconds`` on the calculator."""
    return _run("Compute", "wait", {"seconds": SlowCompute.model_validate(arguments).seconds})


def failing_job_run(arguments: dict[str, Any]) -> RunInput:
    """A delegation whose one phase fails: the calculator refuses to divide by zero."""
    return _run("Divide", "divide", {"a": 1, "b": 0})


async def _delegated(ctx: Context[Any, Any], run: RunInput) -> dict[str, Any]:
    """The tool path of a fixture task tool: the run's result, as ``delegate`` gives it."""
    runs = ctx.request_context.lifespan_context.runs
    await runs.submit(run)
    result = await runs.result(run.run_id, LONGEST_WAIT)
    assert result is not None, f"run {run.run_id} did not finish in {LONGEST_WAIT} s"
    return result.model_dump(mode="json")


def build(args: argparse.Namespace) -> MCPServer[Any]:
    config = load_config(args.config)
    server = build_server(
        config, task_tools={"slow_compute": slow_compute_run, "failing_job": failing_job_run}
    )

    @tool(server, annotations=ToolAnnotations(read_only_hint=True))
    def greet(name: str) -> str:
        """Greet someone by name (answers at once, never as a task)."""
        return f"Hello, {name}!"

    @tool(server, annotations=ToolAnnotations(read_only_hint=True))
    async def slow_compute(seconds: float, ctx: Context[Any, Any], label: str = "") -> dict[str, Any]:
        """Wait ``seconds`` on the calculator, as a delegation (a task for a client that declares them)."""
        return await _delegated(ctx, slow_compute_run({"seconds": seconds, "label": label}))

    @tool(server, annotations=ToolAnnotations(read_only_hint=True))
    async def failing_job(ctx: Context[Any, Any]) -> dict[str, Any]:
        """A delegation whose one phase fails (a task for a client that declares them)."""
        return await _delegated(ctx, failing_job_run({}))

    return server


def main(argv: list[str] | None = None) -> None:
    def add_args(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--config", required=True, help="echelon.toml routing 'numbers' to the toy calculator"
        )

    serve_main("The orchestrator with the conformance suite's tasks fixtures.", build, add_args, argv)


if __name__ == "__main__":
    main()
