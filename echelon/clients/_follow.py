"""Following a run from the terminal: ``echelon ask`` and ``echelon resume``.

The CLI talks to a real orchestrator subprocess, as a desktop host does. It asks ``delegate`` to answer at once
with the run id, then follows the run with ``run_result`` until it has an answer, printing progress as it goes.
Ctrl-C asks whether to cancel the run or keep it (a kept run continues the next time an orchestrator starts on the
same run database, or now with ``echelon resume RUN``); without a terminal to ask, Ctrl-C cancels it.
"""

from __future__ import annotations

import signal
import sys
import time
from typing import Any

import anyio
from mcp import Client

from echelon.servers.core.envelope import DelegationResult
from echelon.servers.core.pool import result_text

FOLLOW_SECONDS = 30.0


class CommandError(Exception):
    """A command failed in a way the user can fix; the message says how."""


class Kept(Exception):
    """The user stopped following a run and kept it."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


class TerminalProgress:
    """Live progress on stderr: elapsed seconds and the latest message."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        elapsed = time.perf_counter() - self.started
        print(f"  [{elapsed:6.1f}s] {message or progress}", file=sys.stderr, flush=True)


def answer_of(result: Any, tool: str) -> dict[str, Any]:
    if result.is_error or result.structured_content is None:
        raise CommandError(f"the orchestrator's {tool} failed: {result_text(result)}")
    return result.structured_content


def running(answer: dict[str, Any]) -> bool:
    """Whether ``answer`` reports a run rather than giving its result: one still going, or one that ended just
    after the answer was made (the next run_result gives its result)."""
    if "run_id" not in answer or "phases" not in answer:
        return False
    return answer.get("status") in ("queued", "running") or ("progress" in answer and "next" in answer)


async def follow(client: Client, answer: dict[str, Any], progress: TerminalProgress) -> DelegationResult:
    """Follow the run ``answer`` names until it has a result; Ctrl-C asks whether to cancel it."""
    run_id = str(answer.get("run_id") or "")
    if run_id:
        print(f"echelon: run {run_id}", file=sys.stderr, flush=True)
    kept = anyio.Event()
    failure: Exception | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(_interrupts, client, run_id, kept, tg.cancel_scope)
        try:
            while running(answer):
                answer = answer_of(
                    await client.call_tool(
                        "run_result",
                        {"run_id": run_id, "wait_seconds": FOLLOW_SECONDS} | _after(answer),
                        progress_callback=progress,
                    ),
                    "run_result",
                )
        except Exception as exc:  # raised after the task group, so the caller sees it as it is
            failure = exc
        tg.cancel_scope.cancel()
    if failure is not None:
        raise failure
    if kept.is_set():
        raise Kept(run_id)
    return DelegationResult.model_validate(answer)


def _after(answer: dict[str, Any]) -> dict[str, Any]:
    """Ask for the progress messages sent since the last answer (none is lost between two calls)."""
    seen = answer.get("seen")
    return {"after_event": seen} if isinstance(seen, int) else {}


async def _interrupts(client: Client, run_id: str, kept: anyio.Event, scope: anyio.CancelScope) -> None:
    """On Ctrl-C: keep the run (stop following it) or cancel it (and follow it to its end)."""
    with anyio.open_signal_receiver(signal.SIGINT) as signals:
        async for _signal in signals:
            keep = False
            if sys.stdin.isatty():
                prompt = f"\nechelon: cancel run {run_id}? [y = cancel / N = keep it] "
                keep = not (await anyio.to_thread.run_sync(input, prompt)).strip().lower().startswith("y")
            if keep:
                kept.set()
                scope.cancel()
                return
            print(f"echelon: cancelling run {run_id}...", file=sys.stderr, flush=True)
            await client.call_tool("cancel_run", {"run_id": run_id})


def kept_message(run_id: str) -> str:
    return (
        f"echelon: run {run_id} is kept. It continues the next time an orchestrator starts on this run database; "
        f"`echelon resume {run_id}` continues it now, `echelon runs` lists runs."
    )
