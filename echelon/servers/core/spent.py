"""What a level spent below it, reported to its caller in the result's MCP ``_meta``.

An echelon level (an orchestrator's ``delegate``, a manager's ``execute_phase``) can itself be the worker of
another hierarchy (``core.nesting``). The outer level hands its remaining budget down in the call's ``_meta``;
this is the way back: the inner level's result carries what it used under ``io.echelon/spent``, and the outer
``ToolCaller`` charges that to its own budget and records it on the call, so the outer delegation's limits and
usage count the nested hierarchy's model calls, tokens and tool calls, not just one tool call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ValidationError

from .envelope import ToolCallRecord, Usage

SPENT_KEY = "io.echelon/spent"


def reporting(value: BaseModel | dict[str, Any], usage: Usage | None) -> CallToolResult:
    """``value`` as a tool's structured result, with ``usage`` reported in the result's ``_meta`` (nothing is
    reported when it is None: work still running has not finished spending)."""
    structured = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    meta = {SPENT_KEY: usage.model_dump(mode="json", exclude={"wall_seconds"})} if usage is not None else None
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(structured, indent=2, ensure_ascii=False))],
        structured_content=structured,
        _meta=meta,
    )


def spent_of(result: CallToolResult) -> Usage | None:
    """What the callee reported it spent, or None when it reported nothing (any server that is not an echelon
    level) or something unreadable."""
    reported = (result.meta or {}).get(SPENT_KEY)
    if reported is None:
        return None
    try:
        return Usage.model_validate(reported)
    except ValidationError:
        return None


def spent_below(records: Iterable[ToolCallRecord]) -> Usage:
    """The sum of what the callees of ``records`` reported spending below them."""
    total = Usage()
    for record in records:
        if record.spent is not None:
            total.add(record.spent)
    return total
