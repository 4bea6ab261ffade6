"""Calls to the level below: transient failures retried where it is safe, and every retry recorded."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from echelon.servers.core.budget import Budget, Limits
from echelon.servers.core.calls import ToolCaller
from echelon.servers.core.pool import ConnectionPool
from echelon.servers.core.retry import RetryPolicy
from echelon.servers.core.target import Target
from tests._servers import REPO

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
FAST = RetryPolicy(max_attempts=3, base_delay=0.01)


def calc() -> Target:
    return Target(command=sys.executable, args=["-m", "tests._toy_servers", "calc"], cwd=str(REPO))


async def test_a_read_only_call_whose_worker_died_is_retried_and_the_retry_recorded(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    with anyio.fail_after(60):
        async with ConnectionPool({"calc": calc()}) as pool:
            await pool.list_tools("calc")  # the caller knows the tool is read-only
            made = await ToolCaller(pool, retry=FAST).call(
                "calc", "flaky_read", {"counter": str(counter)}, budget=Budget.start(Limits())
            )
    record = made.record
    assert record.outcome == "ok" and record.result == {"value": 1.0}
    assert record.attempts == 2 and [r.attempt for r in record.retries] == [1]
    assert "connection" in record.retries[0].reason or "died" in record.retries[0].reason
    assert counter.read_text() == "2"


async def test_a_call_that_may_have_had_effects_is_not_repeated_after_its_worker_died(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    with anyio.fail_after(60):
        async with ConnectionPool({"calc": calc()}) as pool:
            await pool.list_tools("calc")
            made = await ToolCaller(pool, retry=FAST).call(
                "calc", "crash_counted", {"counter": str(counter)}, budget=Budget.start(Limits())
            )
    record = made.record
    assert (record.outcome, record.error_kind, record.attempts) == ("failed", "not_retried", 1)
    assert "not marked read-only or idempotent" in (record.error or "")
    assert counter.read_text() == "1"  # the tool ran once


async def test_a_worker_that_cannot_start_is_tried_a_bounded_number_of_times() -> None:
    broken = Target(command=sys.executable, args=["-c", "import sys; sys.exit(3)"])
    with anyio.fail_after(60):
        async with ConnectionPool({"w": broken}, connect_timeout=20) as pool:
            made = await ToolCaller(pool, retry=FAST).call("w", "anything", {}, budget=Budget.start(Limits()))
    assert (made.record.outcome, made.record.error_kind, made.record.attempts) == ("failed", "connection", 3)
    assert len(made.record.retries) == 2


async def test_a_call_past_its_time_is_stopped_and_reported_as_a_timeout() -> None:
    with anyio.fail_after(60):
        async with ConnectionPool({"calc": calc()}) as pool:
            caller = ToolCaller(pool, retry=RetryPolicy(max_attempts=1))
            made = await caller.call(
                "calc", "wait", {"seconds": 60}, budget=Budget.start(Limits()), cap_seconds=0.5
            )
            # The session stays usable after the timed-out call.
            after = await caller.call("calc", "add", {"a": 1, "b": 2}, budget=Budget.start(Limits()))
    assert (made.record.outcome, made.record.error_kind) == ("failed", "timeout")
    assert after.record.result == {"value": 3.0}
