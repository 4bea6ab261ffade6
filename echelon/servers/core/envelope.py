"""The typed envelope every result travels in when it crosses a level (step -> phase -> delegation).

Free text alone loses what the next level needs (which tool produced a figure, which file was written, what it
cost), so each level returns these models and the level above reads fields, not prose. The tool calls a step made
are its typed trace (``ToolCallRecord``): arguments, result, timing, retries and errors, carried once, in the step.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    computed_field,
    model_serializer,
    model_validator,
)

from .llm.base import TokenUsage
from .llm.pricing import Price

Status = Literal["ok", "partial", "failed", "cancelled"]

ErrorKind = Literal[
    "error",  # anything not named below
    "planning",  # a planner gave no valid plan
    "tool",  # a tool call failed (its own error, or it could not be made)
    "timeout",  # a call or a node ran past its time
    "connection",  # a worker or manager could not be started or reached
    "budget",  # a limit ran out (the message names it)
    "synthesis",  # no synthesized answer; the parts' texts stand in for it
    "grounding",  # figures that are not in the data
    "refused",  # a policy refused a call
    "skipped",  # a node did not run because a dependency failed
    "unanswered",  # the answer does not state what the request asked for
    "cancelled",
    "not_retried",  # a failed call that may have had effects, so it was not repeated
    "reassigned",  # a step moved to another worker after its worker kept failing
    "replanned",  # phases planned anew after a manager failed
    "request",  # the request itself is unusable (too large, empty)
]

AnswerPart = Literal["figure", "name", "file"]
"""What a request asks the answer to state: a figure, a name (of something in the data), a file."""


class ErrorInfo(BaseModel):
    """An error kept with the result instead of being swallowed: where it happened and what it said."""

    where: str
    message: str
    kind: ErrorKind = "error"


class Artifact(BaseModel):
    """A file a worker produced (a .pptx deck, a CSV export, ...)."""

    name: str
    path: str = Field(description="Absolute path on the machine that produced it")
    mime_type: str = "application/octet-stream"
    size_bytes: int | None = None
    description: str = ""


class RetryRecord(BaseModel):
    """One repeated attempt of a call: why the previous one failed and how long we waited."""

    attempt: int = Field(description="The attempt that failed (1 is the first)")
    reason: str
    delay_seconds: float = 0.0


CallOutcome = Literal["ok", "tool_error", "failed", "refused"]
TEXT_LIMIT = 6000
"""How much of a tool result's text a record keeps (what a model reads of it)."""


def result_as_text(result: Any) -> str:
    """A structured tool result as the text a model reads: its JSON, clipped."""
    return clip(json.dumps(result, ensure_ascii=False, default=str), TEXT_LIMIT)


class ToolCallRecord(BaseModel):
    """Provenance and trace: one tool call (or a refusal to make it) on one worker or manager."""

    worker: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    outcome: CallOutcome = "ok"
    result: JsonValue = Field(default=None, description="The structured result, clipped; None if it had none")
    text: str = Field(default="", description="The result as the model read it (clipped)")
    error: str | None = None
    error_kind: ErrorKind | None = None
    started_at: float = Field(default=0.0, description="Unix time the call started")
    duration_ms: float = 0.0
    attempts: int = 1
    retries: list[RetryRecord] = Field(default_factory=list)
    policy: str | None = Field(default=None, description="The policy that refused or rewrote the call")
    note: str | None = Field(default=None, description="What a policy changed, said to the model too")
    manager: str | None = None
    step: str | None = None
    data_fields: list[str] = Field(
        default_factory=list,
        description="The result's fields that hold what the tool found (its _meta 'echelon/data_fields'); "
        "empty: the whole result",
    )
    overall_fields: list[str] = Field(
        default_factory=list,
        description="The result's fields with figures of all its rows together (its _meta 'echelon/overall_fields')",
    )
    spent: Usage | None = Field(
        default=None,
        description="What the callee spent below it, when it is an echelon level that reports it (core.spent)",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_error(self) -> bool:
        return self.outcome != "ok"

    # Each tool result is carried once: ``text`` is left out of the JSON when it is just ``result`` as text, and
    # made again from ``result`` when a record is read back.
    @model_serializer(mode="wrap")
    def _result_once(self, handler: SerializerFunctionWrapHandler):
        dumped = handler(self)
        if isinstance(dumped, dict) and self.result is not None and self.text == result_as_text(self.result):
            dumped.pop("text", None)  # pyright: ignore[reportUnknownMemberType]
        if isinstance(dumped, dict) and not self.data_fields:
            dumped.pop("data_fields", None)  # pyright: ignore[reportUnknownMemberType]
        if isinstance(dumped, dict) and not self.overall_fields:
            dumped.pop("overall_fields", None)  # pyright: ignore[reportUnknownMemberType]
        return dumped  # pyright: ignore[reportUnknownVariableType]

    @model_validator(mode="before")
    @classmethod
    def _text_again(cls, value: Any) -> Any:
        if isinstance(value, dict) and "text" not in value and value.get("result") is not None:  # pyright: ignore[reportUnknownMemberType]
            return {**value, "text": result_as_text(value["result"])}  # pyright: ignore[reportUnknownArgumentType]
        return value


class Usage(BaseModel):
    """What a piece of work cost: model calls, tokens, tool calls, retries and wall time."""

    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    retries: int = 0
    wall_seconds: float = 0.0
    models: list[str] = Field(default_factory=list, description="Models that served the LLM calls")
    cost_usd: float = Field(
        default=0.0, description="Estimated cost of the model calls in US dollars, from the price table"
    )
    unpriced_models: list[str] = Field(
        default_factory=list, description="Models without a price, whose calls cost_usd leaves out"
    )

    def add_tokens(self, tokens: TokenUsage, model_name: str, price: Price | None = None) -> None:
        """Count model calls and tokens served by ``model_name``, and their cost at ``price``."""
        self.llm_calls += tokens.requests
        self.input_tokens += tokens.input_tokens
        self.output_tokens += tokens.output_tokens
        if tokens.requests and model_name not in self.models:
            self.models.append(model_name)
        if price is not None:
            self.cost_usd += price.of(tokens.input_tokens, tokens.output_tokens)
        elif tokens.requests and model_name not in self.unpriced_models:
            self.unpriced_models.append(model_name)

    def add(self, other: Usage, *, include_wall: bool = False) -> None:
        """Accumulate another usage into this one (wall time only when asked: concurrent work overlaps)."""
        self.llm_calls += other.llm_calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.tool_calls += other.tool_calls
        self.retries += other.retries
        if include_wall:
            self.wall_seconds += other.wall_seconds
        for name in other.models:
            if name not in self.models:
                self.models.append(name)
        self.cost_usd += other.cost_usd
        for name in other.unpriced_models:
            if name not in self.unpriced_models:
                self.unpriced_models.append(name)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def cost_text(self) -> str:
        """The estimated cost for people: "~$0.0123", saying which models had no price."""
        text = f"~${self.cost_usd:.4f}" if self.cost_usd < 1 else f"~${self.cost_usd:.2f}"
        return text + (f" (no price for {', '.join(self.unpriced_models)})" if self.unpriced_models else "")


ToolCallRecord.model_rebuild()  # its ``spent`` is a Usage, defined after it


class Result(BaseModel):
    """The common envelope: status, text for people, files, cost, errors. Structured data stays in the tool calls
    that returned it (``ToolCallRecord.result``), carried once."""

    status: Status = "ok"
    output: str = ""
    artifacts: list[Artifact] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    errors: list[ErrorInfo] = Field(default_factory=list)


class StepResult(Result):
    """One manager step carried out against one worker; ``calls`` is its trace."""

    step: str
    worker: str
    calls: list[ToolCallRecord] = Field(default_factory=list)
    reassigned_from: str | None = Field(default=None, description="The worker that kept failing, if any")
    output_from: Literal["model", "tools", "none"] = Field(
        default="model",
        description="Whose text the output is: the model's answer, the tools' data as they returned it (a "
        "planned call, or no answer the policies accepted), or none: no answer stood and no call returned data, "
        "and the output says so",
    )

    @property
    def data(self) -> dict[str, Any] | None:
        """The structured result of the step's last successful call that holds data."""
        return _last_data(self.calls)

    # A step that is one planned call answers with that call's text: the JSON leaves it out, as it does the text.
    @model_serializer(mode="wrap")
    def _output_once(self, handler: SerializerFunctionWrapHandler):
        dumped = handler(self)
        if (
            isinstance(dumped, dict)
            and len(self.calls) == 1
            and self.output
            and self.output == self.calls[0].text
        ):
            dumped.pop("output", None)  # pyright: ignore[reportUnknownMemberType]
        return dumped  # pyright: ignore[reportUnknownVariableType]

    @model_validator(mode="before")
    @classmethod
    def _output_again(cls, value: Any) -> Any:
        if isinstance(value, dict) and "output" not in value:
            calls = value.get("calls")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            if isinstance(calls, list) and len(calls) == 1 and isinstance(calls[0], dict):  # pyright: ignore[reportUnknownArgumentType]
                call = ToolCallRecord.model_validate(calls[0])
                return {**value, "output": call.text}  # pyright: ignore[reportUnknownArgumentType]
        return value


class PhaseResult(Result):
    """A manager's answer for one phase."""

    phase: str
    manager: str
    goal_met: bool = False
    missing: str = Field(default="", description="What is still missing when the goal was not met")
    steps: list[StepResult] = Field(default_factory=list)
    planner: str | None = Field(default=None, description="The planner that made the steps")
    lookups: list[ToolCallRecord] = Field(
        default_factory=list,
        description="Calls the manager made before planning: the values the request names, found in the data",
    )

    def calls(self) -> list[ToolCallRecord]:
        """Every tool call of every step, in step order."""
        return [call for step in self.steps for call in step.calls]

    @property
    def data(self) -> dict[str, Any] | None:
        """The structured result of the phase's last successful call that holds data."""
        return _last_data(self.calls())


class ReplanRecord(BaseModel):
    """Phases planned anew for the remaining work after phases failed."""

    failed: list[str]
    reason: str
    phases: list[str] = Field(description="The phases of the new plan")


class DelegationResult(Result):
    """The orchestrator's answer to one request."""

    request: str
    run_id: str | None = None
    primary_manager: str | None = None
    phases: list[PhaseResult] = Field(default_factory=list)
    plan: dict[str, Any] | None = None
    replans: list[ReplanRecord] = Field(default_factory=list)

    def calls(self) -> list[ToolCallRecord]:
        """Every tool call of every phase, in phase order."""
        return [call for phase in self.phases for call in phase.calls()]


def _last_data(calls: list[ToolCallRecord]) -> dict[str, Any] | None:
    from .evidence import with_data

    found = with_data(calls)
    return found[-1].result if found and isinstance(found[-1].result, dict) else None


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... [{len(text) - limit} more characters cut]"


def clip_json(value: Any, limit: int = 20_000) -> Any:
    """``value`` (JSON data) made to fit about ``limit`` characters by keeping the first items of long lists, with
    a marker saying how many were left out. Records keep tool results readable later without holding 500 rows."""
    if len(json.dumps(value, default=str)) <= limit:
        return value
    keep = 50
    while keep >= 1:
        shrunk = _shrink(value, keep)
        if len(json.dumps(shrunk, default=str)) <= limit:
            return shrunk
        keep //= 2
    return clip(json.dumps(value, default=str), limit)


def _shrink(value: Any, keep: int) -> Any:
    if isinstance(value, list):
        items = [_shrink(v, keep) for v in value[:keep]]  # pyright: ignore[reportUnknownVariableType]
        if len(value) > keep:  # pyright: ignore[reportUnknownArgumentType]
            items.append(f"... {len(value) - keep} more items cut")  # pyright: ignore[reportUnknownArgumentType]
        return items
    if isinstance(value, dict):
        return {k: _shrink(v, keep) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, str) and len(value) > 2000:
        return clip(value, 2000)
    return value


# A template left in an answer: bracketed plain words that are not a Markdown link ("[insert name]", "[X]"),
# braces around a name ("{region}"), or X's standing for digits ("XX.X%").
_PLACEHOLDER = re.compile(
    r"\[[A-Za-z][A-Za-z ]{0,40}\](?!\()|\{[A-Za-z_][A-Za-z_ ]{0,40}\}|\bX+(?:\.X+)?\s?%",
)


JsonTextKind = Literal["tool_call", "data"]

_FENCE = re.compile(r"^```[A-Za-z]*\s*")
_CALL_KEYS = re.compile(
    r'^\{\s*"(?:tool|name|function)"\s*:\s*"[^"]*"\s*,\s*"(?:arguments|parameters|args)"\s*:'
)


def json_text_kind(text: str) -> JsonTextKind | None:
    """Whether ``text`` is JSON rather than sentences (also inside a Markdown code fence): a tool call written as
    text (``{"name": ..., "arguments": ...}``), other JSON data, or neither (None). It need not parse: a reply cut
    off inside an object is still JSON. A Markdown answer (``[a link](...)``, a table) is not."""
    body = _FENCE.sub("", text.strip(), count=1).lstrip()
    if not body.startswith(("{", "[{", "[[", '["')):
        return None
    return "tool_call" if _CALL_KEYS.match(body) else "data"


def _prose_without_placeholders(text: str) -> str:
    if json_text_kind(text) is not None:
        # Models echo a tool's JSON (or write a call) as the answer; people read this text.
        raise ValueError("the answer is JSON: write it as sentences, stating the figures with what they are")
    found = _PLACEHOLDER.search(text)
    if found:
        raise ValueError(
            f"the answer contains the placeholder {found.group(0)!r}: write the real value from the results, "
            "or say plainly that it is not known"
        )
    return text


AnswerText = Annotated[str, Field(min_length=1), AfterValidator(_prose_without_placeholders)]
"""An answer for people: non-empty sentences, never JSON or a template such as "[insert name]" (small models write
those instead of an answer or of admitting a figure is missing; the validation error sends it back)."""
