"""Real runs in the test's run database, for the commands and the UI that read them.

The toy hierarchy runs in-process: plan ``Compute`` (numbers: ``calc.add(2, 3)``) then ``Deck`` (content:
``deck.make_deck``). With a ``gate``, the Deck phase waits (its manager is still routing its step) until the test
sets it, so a reader sees a finished phase, its step and tool call, and a running phase at once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from echelon.servers.core.llm import ModelRequest
from echelon.servers.core.testing import Answer, PurposeModel, ScriptedModel
from tests.orchestrator._hierarchy import build_hierarchy, looping_model
from tests.orchestrator.test_delegation import TWO_PHASES

DECK_STEP = {
    "step": {
        "name": "Deck",
        "worker": "deck",
        "goals": "one slide",
        "tool": "make_deck",
        "arguments": {"title": "Sum", "bullets": ["2 + 3 = 5"]},
    }
}


def content_model(gate: anyio.Event | None) -> PurposeModel:
    async def route(_request: ModelRequest) -> Answer:
        if gate is not None:
            await gate.wait()
        return DECK_STEP

    return PurposeModel(
        {"route_step": route, "synthesis": {"answer": "Deck written with the sum", "goal_met": True}},
        name="test:content",
    )


@asynccontextmanager
async def two_phase_run(
    tmp: Path, request: str = "Add 2 and 3 and make a slide", *, gate: anyio.Event | None = None
) -> AsyncGenerator[tuple[Client, str]]:
    """A delegation submitted to the in-process hierarchy: its client and run id (the run may still be going)."""
    server = build_hierarchy(
        tmp,
        orchestrator=ScriptedModel([TWO_PHASES]),
        numbers=looping_model(2, 3, "2 + 3 = 5"),
        content=content_model(gate),
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": request, "wait_seconds": 0 if gate else 60})
        assert not answer.is_error, answer.content
        data: dict[str, Any] = answer.structured_content or {}
        yield client, data["run_id"]


def finished_run(tmp: Path, request: str = "Add 2 and 3 and make a slide") -> str:
    """Run a whole delegation (in an event loop of its own) and give its run id."""

    async def run() -> str:
        with anyio.fail_after(60):
            async with two_phase_run(tmp, request) as (client, run_id):
                done = await client.call_tool("run_result", {"run_id": run_id, "wait_seconds": 30})
                assert (done.structured_content or {}).get("status") == "ok", done.content
                return run_id

    return anyio.run(run)
