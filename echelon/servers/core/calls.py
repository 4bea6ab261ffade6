"""The one way a level calls a tool on the level below: bounded, retried where safe, budgeted, and recorded.

``ToolCaller.call`` makes one call through the pool with a timeout taken from the budget's deadline, passes the
remaining budget down in ``_meta``, charges what a nested echelon level reports it spent below it
(``core.spent``), repeats transient failures (``core.retry``) only where the tool is marked
read-only or idempotent or the call never reached it, charges the budget, and returns the typed record of it all
(``ToolCallRecord``) with the raw result. Managers call workers with it; the orchestrator calls managers with it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.types import CallToolResult, Tool

from . import telemetry
from .budget import Budget
from .envelope import TEXT_LIMIT, RetryRecord, ToolCallRecord, clip, clip_json
from .pool import ConnectionPool, ProgressFn, result_text
from .retry import RetryPolicy, transient
from .spent import spent_of

logger = logging.getLogger(__name__)


def may_repeat(tool: Tool | None) -> bool:
    """Whether repeating a call of ``tool`` is harmless: the server marks it read-only or idempotent."""
    hints = tool.annotations if tool is not None else None
    return bool(hints and (hints.read_only_hint or hints.idempotent_hint))


@dataclass
class CallResult:
    """A call's record, and the raw MCP result when the call returned one."""

    record: ToolCallRecord
    raw: CallToolResult | None = None


class ToolCaller:
    """Calls tools on the targets of one pool, for one level."""

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        retry: RetryPolicy | None = None,
        call_timeout: float | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.pool = pool
        self.retry = retry or RetryPolicy()
        self.call_timeout = call_timeout
        self.meta = dict(meta or {})

    async def call(
        self,
        target: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        budget: Budget,
        progress: ProgressFn | None = None,
        cap_seconds: float | None = None,
        manager: str | None = None,
        step: str | None = None,
        counts: bool = True,
    ) -> CallResult:
        """Call ``tool`` on ``target``; never raises for a failed call (the record says what happened), only for
        a spent budget (``BudgetExhausted``) or cancellation. ``counts=False`` for a call of a level below that
        reports the tool calls it makes itself (a manager), which are charged instead."""
        if counts:
            budget.check_tool()
            budget.charge_tool()
        else:
            budget.check_time()
        record = ToolCallRecord(
            worker=target, tool=tool, arguments=arguments, manager=manager, step=step, started_at=time.time()
        )
        started = time.perf_counter()
        with telemetry.span(f"echelon.tool_call {target}.{tool}", **{"echelon.worker": target}) as current:
            try:
                raw = await self._attempts(target, tool, arguments, record, budget, progress, cap_seconds)
            finally:
                record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
                current.set_attribute("echelon.attempts", record.attempts)
        if raw is None:
            return CallResult(record)
        text = result_text(raw)
        record.outcome = "tool_error" if raw.is_error else "ok"
        record.text = clip(text, TEXT_LIMIT)
        if raw.is_error:
            record.error, record.error_kind = clip(text, 2000), "tool"
        elif raw.structured_content is not None:
            record.result = clip_json(raw.structured_content)
        if counts:  # a level that charges its callee's own usage (counts=False) must not count it twice
            record.spent = spent_of(raw)
            if record.spent is not None:
                budget.charge(
                    model_calls=record.spent.llm_calls,
                    tokens=record.spent.tokens,
                    tool_calls=record.spent.tool_calls,
                )
        return CallResult(record, raw)

    async def _attempts(
        self,
        target: str,
        tool: str,
        arguments: dict[str, Any],
        record: ToolCallRecord,
        budget: Budget,
        progress: ProgressFn | None,
        cap_seconds: float | None,
    ) -> CallToolResult | None:
        attempt = 0
        while True:
            attempt += 1
            record.attempts = attempt
            try:
                return await self.pool.call_tool(
                    target,
                    tool,
                    arguments,
                    progress_callback=progress,
                    read_timeout_seconds=budget.timeout(cap_seconds or self.call_timeout),
                    meta={**self.meta, **budget.to_meta()},
                )
            except Exception as exc:
                failure = transient(exc)
                if failure is None:
                    record.outcome, record.error = "failed", f"{type(exc).__name__}: {exc}"
                    record.error_kind = "tool"
                    return None
                repeatable = not failure.may_have_run or may_repeat(self.pool.known_tool(target, tool))
                delay = self.retry.delay(attempt)
                if attempt >= self.retry.max_attempts or budget.seconds_left <= delay:
                    record.outcome, record.error, record.error_kind = "failed", failure.reason, failure.kind
                    return None
                if not repeatable:
                    record.outcome, record.error_kind = "failed", "not_retried"
                    record.error = (
                        f"{failure.reason}; not repeated: {tool} is not marked read-only or idempotent, so the "
                        "call may have had effects"
                    )
                    return None
                logger.warning(
                    "%s.%s attempt %d failed (%s); retrying", target, tool, attempt, failure.reason
                )
                record.retries.append(
                    RetryRecord(attempt=attempt, reason=failure.reason, delay_seconds=delay)
                )
                await anyio.sleep(delay)
