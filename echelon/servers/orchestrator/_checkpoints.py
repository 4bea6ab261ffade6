"""Checkpoints: how the steps of one delegation are kept, so a finished step is never run again.

A delegation is a sequence of steps (the plan, each phase, a replan, the answer), each a function returning JSON.
``Immediate`` just runs them (a plan preview). ``orchestrator._durable`` keeps them as DBOS steps of the run's
workflow. Phases run concurrently, so their step slots are drawn up front in plan order (``slots``): a recovered
run then finds each phase's recorded result under the same step, whatever order the phases finished in.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

StepFn = Callable[[], Coroutine[Any, Any, dict[str, Any]]]


class Slot(ABC):
    """A step drawn up front, to be run once later."""

    @abstractmethod
    async def run(self, fn: StepFn) -> dict[str, Any]: ...


class Checkpoints(ABC):
    """Runs steps so that a finished one is never run again."""

    @abstractmethod
    async def step(self, name: str, fn: StepFn) -> dict[str, Any]:
        """Run ``fn`` as the step ``name`` (or give its recorded result)."""

    @abstractmethod
    def slots(self, names: Sequence[str]) -> dict[str, Slot]:
        """One slot per name, drawn now in this order."""


class _ImmediateSlot(Slot):
    async def run(self, fn: StepFn) -> dict[str, Any]:
        return await fn()


class Immediate(Checkpoints):
    """Steps run as they are asked for; nothing is kept."""

    async def step(self, name: str, fn: StepFn) -> dict[str, Any]:
        return await fn()

    def slots(self, names: Sequence[str]) -> dict[str, Slot]:
        return {name: _ImmediateSlot() for name in names}
