"""Toolsets: the tools one loop may call, and how a call of one is made.

A step's toolset is ONE worker's tools (names as the worker gives them); a flat agent's toolset is several workers'
tools under ``worker.tool`` names. Either way the loop sees definitions, asks for a ``PendingCall`` (what the policies
judge), and makes the call through the level's ``ToolCaller``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .budget import Budget
from .calls import CallResult, ToolCaller
from .catalog import ToolInfo, WorkerInfo
from .llm import ToolDefinition
from .policies import PendingCall
from .progress import Progress


@dataclass(frozen=True)
class _Entry:
    worker: WorkerInfo
    tool: ToolInfo


class WorkerToolset:
    """The tools of ``workers`` (one worker: plain names; several: ``worker.tool``), called through ``caller``."""

    def __init__(
        self,
        workers: Sequence[WorkerInfo],
        caller: ToolCaller,
        budget: Budget,
        *,
        manager: str | None = None,
        step: str | None = None,
        step_timeout: float | None = None,
    ) -> None:
        qualified = len(workers) > 1
        self._entries = {
            (f"{w.name}.{t.name}" if qualified else t.name): _Entry(w, t) for w in workers for t in w.tools
        }
        self.workers = list(workers)
        self.caller = caller
        self.budget = budget
        self.manager = manager
        self.step = step
        self.step_timeout = step_timeout

    def definitions(self) -> list[ToolDefinition]:
        return [
            ToolDefinition(name=name, description=e.tool.description, parameters=e.tool.input_schema)
            for name, e in self._entries.items()
        ]

    def names(self) -> list[str]:
        return list(self._entries)

    def pending(self, name: str, arguments: dict[str, object]) -> PendingCall | None:
        """The call the model asked for, or None when no tool has that name."""
        entry = self._entries.get(name)
        if entry is None:
            return None
        return PendingCall(
            entry.worker.name,
            entry.tool.name,
            dict(arguments),
            read_only=entry.tool.read_only,
            figure_arguments=tuple(entry.tool.figure_arguments),
            data_fields=tuple(entry.tool.data_fields),
            overall_fields=tuple(entry.tool.overall_fields),
            names_candidates=entry.tool.names_candidates,
            selects_values=entry.tool.selects_values,
        )

    async def call(self, call: PendingCall, progress: Progress) -> CallResult:
        async with progress.activity(f"{call.worker}.{call.tool}"):
            made = await self.caller.call(
                call.worker,
                call.tool,
                call.arguments,
                budget=self.budget,
                progress=progress.forward,
                cap_seconds=self.step_timeout,
                manager=self.manager,
                step=self.step,
            )
        made.record.data_fields = list(call.data_fields)
        made.record.overall_fields = list(call.overall_fields)
        return made
