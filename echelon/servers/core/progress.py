"""One ordered stream of readable progress from every level, with heartbeats while something slow runs.

A ``Progress`` sends MCP progress notifications through one callback (``ctx.report_progress`` in a server). Each
level prefixes what it says with where it is (``phase 2/3 data › step 1/2 sql.run_query``) and forwards what the
level below says under its own prefix. While a model call or a tool call runs, ``activity`` sends a heartbeat every
``heartbeat_seconds`` (below the 10 s that hosts which reset their timeout on progress wait), so a host keeps
waiting. Progress values only increase, as MCP requires: the integer part counts finished units (phases, steps)
out of ``total`` when it is known; each message inside a unit adds a little to the fraction.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

Send = Callable[[float, float | None, str | None], Awaitable[None]]

SEPARATOR = " › "
HEARTBEAT_ENV = "ECHELON_HEARTBEAT_SECONDS"


def heartbeat_seconds() -> float:
    """``ECHELON_HEARTBEAT_SECONDS``, else 5: below the 10 s hosts that reset their timeout on progress allow."""
    return float(os.environ.get(HEARTBEAT_ENV) or 5.0)


@dataclass
class _Counter:
    """The shared, monotonic state of one progress stream."""

    send: Send | None
    done: int = 0
    total: int | None = None
    ticks: int = 0
    last: float = -1.0
    lock: anyio.Lock = field(default_factory=anyio.Lock)

    async def emit(self, message: str) -> None:
        if self.send is None:
            return
        async with self.lock:
            self.ticks += 1
            value = self.done + 0.99 * self.ticks / (self.ticks + 1)
            value = max(value, self.last + 1e-6)
            self.last = value
            await self.send(value, float(self.total) if self.total is not None else None, message)


class Progress:
    """A progress stream, or a view of it under a prefix (``child``)."""

    def __init__(self, send: Send | None = None, *, heartbeat: float | None = None) -> None:
        self._counter = _Counter(send)
        self._prefix = ""
        self.heartbeat_seconds = heartbeat if heartbeat is not None else heartbeat_seconds()

    def child(self, prefix: str) -> Progress:
        """The same stream, with ``prefix`` before what is said through it."""
        view = Progress.__new__(Progress)
        view._counter = self._counter
        view._prefix = f"{self._prefix}{prefix}{SEPARATOR}" if prefix else self._prefix
        view.heartbeat_seconds = self.heartbeat_seconds
        return view

    def set_total(self, total: int) -> None:
        self._counter.total = total

    def finished_one(self) -> None:
        """One unit of ``total`` is done."""
        self._counter.done += 1
        self._counter.ticks = 0

    async def say(self, message: str) -> None:
        await self._counter.emit(self._prefix + message)

    async def forward(self, progress: float, total: float | None, message: str | None) -> None:
        """A callback for the level below: its messages, under this prefix (its numbers are its own)."""
        del progress, total
        if message:
            await self.say(message)

    @asynccontextmanager
    async def activity(self, label: str) -> AsyncGenerator[None]:
        """Say ``label``, then repeat it with the elapsed seconds every ``heartbeat_seconds`` until the block ends."""
        await self.say(label)
        started = time.monotonic()

        async def beat() -> None:
            while True:
                await anyio.sleep(self.heartbeat_seconds)
                await self.say(f"{label} (still running, {time.monotonic() - started:.0f} s)")

        failure: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(beat)
            try:
                yield
            except Exception as exc:  # raised outside the task group, so callers see it unwrapped
                failure = exc
            finally:
                tg.cancel_scope.cancel()
        if failure is not None:
            raise failure


SILENT = Progress()
"""A progress stream that sends nothing."""
