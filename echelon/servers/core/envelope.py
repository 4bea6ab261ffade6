"""The typed envelope every result travels in when it crosses a level (step -> phase -> delegation).

Free text alone loses what the next level needs (which tool produced a figure, which file was written, what it
cost), so each level returns these models and the level above reads fields, not prose.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from .llm.base import TokenUsage

Status = Literal["ok", "partial", "failed", "cancelled"]


class Artifact(BaseModel):
    """A file a worker produced (a .pptx deck, a CSV export, ...)."""

    name: str
    path: str = Field(description="Absolute path on the machine that produced it")
    mime_type: str = "application/octet-stream"
    size_bytes: int | None = None
    description: str = ""


class ToolCallRecord(BaseModel):
    """Provenance: one tool call on one worker, as made by a manager."""

    worker: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    is_error: bool = False
    duration_ms: float = 0.0
    manager: str | None = None
    step: str | None = None


class Usage(BaseModel):
    """What a piece of work cost: model calls, tokens, tool calls and wall time."""

    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    wall_seconds: float = 0.0
    models: list[str] = Field(default_factory=list, description="Models that served the LLM calls")

    def add_tokens(self, tokens: TokenUsage, model_name: str) -> None:
        """Count model calls and tokens served by ``model_name``."""
        self.llm_calls += tokens.requests
        self.input_tokens += tokens.input_tokens
        self.output_tokens += tokens.output_tokens
        if tokens.requests and model_name not in self.models:
            self.models.append(model_name)

    def add(self, other: Usage, *, include_wall: bool = False) -> None:
        """Accumulate another usage into this one (wall time only when asked: concurrent work overlaps)."""
        self.llm_calls += other.llm_calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.tool_calls += other.tool_calls
        if include_wall:
            self.wall_seconds += other.wall_seconds
        for name in other.models:
            if name not in self.models:
                self.models.append(name)


class ErrorInfo(BaseModel):
    """An error kept with the result instead of being swallowed: where it happened and what it said."""

    where: str
    message: str
    kind: str = "error"


class Result(BaseModel):
    """The common envelope: status, text for people, structured data, files, provenance, cost, errors."""

    status: Status = "ok"
    output: str = ""
    data: dict[str, Any] | None = None
    artifacts: list[Artifact] = Field(default_factory=list)
    provenance: list[ToolCallRecord] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    errors: list[ErrorInfo] = Field(default_factory=list)


class StepResult(Result):
    """One manager step carried out against one worker."""

    step: str
    worker: str


class PhaseResult(Result):
    """A manager's synthesized answer for one phase."""

    phase: str
    manager: str
    goal_met: bool = False
    missing: str = Field(default="", description="What is still missing when the goal was not met")
    steps: list[StepResult] = Field(default_factory=list)


class DelegationResult(Result):
    """The orchestrator's answer to one request."""

    request: str
    run_id: str | None = None
    primary_manager: str | None = None
    phases: list[PhaseResult] = Field(default_factory=list)
    plan: dict[str, Any] | None = None


class PriorResult(BaseModel):
    """The result of an earlier phase, handed to a phase that depends on it."""

    phase: str
    manager: str
    output: str
    data: dict[str, Any] | None = None
    artifacts: list[Artifact] = Field(default_factory=list)
    missing: str = Field(
        default="", description="What the phase could not find; empty when its goals were met"
    )


class PhaseContext(BaseModel):
    """What a manager gets besides its phase: the user's request and the results of the phases it depends on."""

    request: str = ""
    prior: list[PriorResult] = Field(default_factory=list)

    def render(self, limit: int = 4000) -> str:
        """The context as prompt text, each prior output cut to ``limit`` characters."""
        if not self.prior:
            return "(none)"
        parts: list[str] = []
        for p in self.prior:
            files = "".join(f"\n  file: {a.path}" for a in p.artifacts)
            steps = (p.data or {}).get("steps") or {}
            calls = [c for s in steps.values() if isinstance(s, dict) for c in s.get("calls") or []]
            data = tool_results_text(calls, last=2, limit=min(limit, 1500))
            # Said outright, so a later phase reports the gap instead of filling it with figures of its own.
            gap = f"\nIts goals were NOT met; missing: {p.missing}" if p.missing else ""
            parts.append(
                f"Result of phase {p.phase!r} ({p.manager}):\n{clip(p.output, limit)}{gap}{data}{files}"
            )
        return "\n\n".join(parts)


def has_data(result: Any) -> bool:
    """Whether a tool result holds anything: not empty, and not a table or search with zero rows."""
    if not result:
        return False
    if isinstance(result, dict):
        lists = [result.get(key) for key in ("rows", "results", "items", "matches")]  # pyright: ignore[reportUnknownMemberType]
        return not any(isinstance(found, list) and not found for found in lists)
    return True


def tool_results_text(calls: list[dict[str, Any]], *, last: int = 3, limit: int = 1500) -> str:
    """The last successful, non-empty tool results of ``calls`` (``{"tool", "arguments", "result"}`` records) as
    prompt lines. Whoever reads a step's outcome sees what the tools said, not only a small model's summary of it,
    which can drop or garble figures."""
    shown = [c for c in calls if has_data(c.get("result"))][-last:]
    return "".join(
        f"\nData returned by {c['tool']}: {clip(json.dumps(c['result'], ensure_ascii=False, default=str), limit)}"
        for c in shown
    )


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... [{len(text) - limit} more characters cut]"


_PLACEHOLDER = re.compile(
    r"\[(?:insert|add|enter|fill|your|placeholder|name of|region|figure|amount|number|value|x+)\b[^\]]{0,80}\]"
    r"|\bX+(?:\.X+)?\s?%",
    re.IGNORECASE,
)


def _prose_without_placeholders(text: str) -> str:
    if text.lstrip().startswith(("{", "[{")):
        # Small models echo a tool's JSON as the answer; people read this text.
        raise ValueError("the answer is JSON: write it as sentences, stating the figures with what they are")
    found = _PLACEHOLDER.search(text)
    if found:
        raise ValueError(
            f"the answer contains the placeholder {found.group(0)!r}: write the real value from the results, "
            "or say plainly that it is not known"
        )
    return text


AnswerText = Annotated[str, Field(min_length=1), AfterValidator(_prose_without_placeholders)]
"""A synthesized answer: non-empty sentences, never JSON or a template such as "[insert region name]" (small models
write those instead of an answer or of admitting a figure is missing; the validation error sends it back)."""
