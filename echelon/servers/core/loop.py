"""The one tool-use loop: model request -> tool calls -> results -> ... -> final answer.

Every step at every level runs through ``run_tool_loop`` (a flat agent holding many workers' tools too). The loop
is mechanism only: what a call may do, what the model is told after a result, and whether a final answer stands
are the policies' decisions (``core.policies``). It returns a typed ``LoopOutcome`` with the trace of every call.
Each turn ends in one of three typed next steps, as in openai-agents: more tool calls, a final answer, or a final
answer sent back once with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from .budget import BudgetExhausted
from .envelope import Artifact, ErrorInfo, ToolCallRecord, Usage, clip, json_text_kind
from .evidence import find_artifacts
from .llm import Message, Model, ModelRequest, ModelResponse, ToolCall
from .policies import PendingCall, Policy, Refuse, Rewrite, RunState, SendBack
from .progress import SILENT, Progress
from .spent import spent_below
from .toolset import WorkerToolset

TOOL_TEXT_LIMIT = 6000
CUT_OFF_SHOWN = 300
NO_MORE_TOOLS = (
    "No more tool calls. Write your answer to the step's goals now, stating the exact figures and names from the "
    "tool results above; if they hold no usable data, say so."
)

CUT_OFF = (
    "Reply again, short: one tool call, or an answer of a few sentences with the exact figures and names from "
    "the tool results, each said once."
)

Stop = Literal["answered", "no_answer", "budget"]


@dataclass
class LoopOutcome:
    """How a loop ended, its answer, and its trace."""

    stop: Stop
    answer: str = ""
    records: list[ToolCallRecord] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    errors: list[ErrorInfo] = field(default_factory=list)


@dataclass(frozen=True)
class _ToolCalls:
    calls: list[ToolCall]
    text: str


@dataclass(frozen=True)
class _FinalAnswer:
    text: str


@dataclass(frozen=True)
class _CutOff:
    """A reply that ended at its token allowance, or earlier because it began to repeat itself: a failed attempt,
    never an answer (half a sentence or half a tool call)."""

    text: str
    reason: str


NextStep = _ToolCalls | _FinalAnswer | _CutOff


def _next_step(response: ModelResponse, tools_allowed: bool, max_tokens: int) -> NextStep:
    if response.tool_calls and tools_allowed:
        return _ToolCalls(list(response.tool_calls), response.text)
    if response.stop_reason == "max_tokens":
        spent = response.usage.output_tokens
        how = "began to repeat itself" if 0 < spent < max_tokens else f"ran past {max_tokens} tokens"
        return _CutOff(response.text, f"your reply {how} and was cut off")
    return _FinalAnswer(response.text.strip())


async def run_tool_loop(
    model: Model,
    *,
    system: str,
    prompt: str,
    toolset: WorkerToolset,
    policies: Sequence[Policy],
    state: RunState,
    max_tool_calls: int,
    where: str,
    progress: Progress = SILENT,
    max_send_backs: int = 1,
) -> LoopOutcome:
    """Run ``model`` with ``toolset`` until it answers, the tool-call allowance is spent, or the budget is.

    ``state`` is what the policies judge against (its ``given`` should hold ``prompt``); the loop appends every
    call to ``state.records``. ``where`` names the loop in errors (``data.Growth``)."""
    outcome = LoopOutcome(stop="no_answer")
    messages = [Message(role="user", content=prompt)]
    tools = toolset.definitions()
    used = 0
    tools_ended = False
    send_backs = 0
    first_record = len(state.records)
    try:
        while True:
            allowed = not tools_ended and used < max_tool_calls
            if not allowed and messages[-1].content != NO_MORE_TOOLS:
                messages.append(Message(role="user", content=NO_MORE_TOOLS))
            request = ModelRequest(
                system=system, messages=messages, tools=tools if allowed else [], purpose="step"
            )
            async with progress.activity("thinking"):
                response = await model.request(request)
            outcome.usage.add_tokens(response.usage, model.name, model.price)
            step = _next_step(response, allowed, request.max_tokens)
            if isinstance(step, _CutOff):
                if send_backs >= max_send_backs:
                    outcome.stop = "no_answer"
                    outcome.errors.append(ErrorInfo(where=where, message=step.reason))
                    return outcome
                send_backs += 1
                # Its start is enough to show what went wrong; the whole loop would only lengthen the prompt.
                messages.append(Message(role="assistant", content=clip(step.text, CUT_OFF_SHOWN)))
                messages.append(Message(role="user", content=f"{step.reason.capitalize()}. {CUT_OFF}"))
                continue
            if isinstance(step, _FinalAnswer):
                if not step.text:
                    outcome.stop = "no_answer"
                    return outcome
                objection = first_objection(step.text, policies, state)
                if objection is not None and send_backs < max_send_backs:
                    send_backs += 1
                    messages.append(Message(role="assistant", content=step.text))
                    messages.append(
                        Message(
                            role="user",
                            content=f"That answer was sent back: {objection[1]}. Reply with the corrected answer.",
                        )
                    )
                    continue
                if json_text_kind(step.text) == "tool_call":
                    outcome.stop = "no_answer"  # a call written as text, not run, is no answer
                    return outcome
                if objection is not None:
                    policy, reason = objection
                    outcome.errors.append(ErrorInfo(where=where, message=reason, kind=policy.error_kind))
                outcome.stop, outcome.answer = "answered", step.text
                return outcome
            messages.append(Message(role="assistant", content=step.text, tool_calls=step.calls))
            for call in step.calls:
                turn = await _one_call(
                    call, toolset, policies, state, outcome, progress, spent=used >= max_tool_calls
                )
                # Refused and unknown calls spend the allowance too, or a model could repeat them forever.
                used += 1
                tools_ended = tools_ended or turn.end_tool_calls
                messages.append(
                    Message(role="tool", tool_call_id=call.id, content=turn.text, is_error=turn.is_error)
                )
    except BudgetExhausted as exc:
        outcome.stop = "budget"
        outcome.errors.append(ErrorInfo(where=where, message=str(exc), kind="budget"))
        return outcome
    finally:
        outcome.records = state.records[first_record:]
        outcome.usage.tool_calls = sum(1 for r in outcome.records if r.outcome != "refused")
        outcome.usage.add(spent_below(outcome.records))  # a nested hierarchy's calls count here too


@dataclass(frozen=True)
class _Turn:
    """What the model reads of one call, whether it is an error, and whether the tool calls end here."""

    text: str
    is_error: bool
    end_tool_calls: bool = False


@dataclass(frozen=True)
class JudgedCall:
    """A call after the policies judged it: its record (``refused`` when one refused it), the files it made, and
    whether the tool calls end here."""

    record: ToolCallRecord
    artifacts: list[Artifact]
    end_tool_calls: bool = False


async def judge_and_call(
    pending: PendingCall,
    toolset: WorkerToolset,
    policies: Sequence[Policy],
    state: RunState,
    progress: Progress,
) -> JudgedCall:
    """Let each policy allow, rewrite or refuse ``pending``, then make it; the record joins ``state.records``.
    The loop's calls and a plan's pinned calls both go through here."""
    notes: list[str] = []
    for policy in policies:
        decision = policy.before_call(pending, state)
        if isinstance(decision, Refuse):
            record = ToolCallRecord(
                worker=pending.worker,
                tool=pending.tool,
                arguments=pending.arguments,
                outcome="refused",
                error=decision.reason,
                error_kind="refused",
                policy=policy.name,
                manager=toolset.manager,
                step=toolset.step,
            )
            state.records.append(record)
            return JudgedCall(record, [], decision.end_tool_calls)
        if isinstance(decision, Rewrite):
            pending = replace(pending, arguments=decision.arguments)
            notes.append(decision.note)
    made = await toolset.call(pending, progress)
    if notes:
        made.record.note = " ".join(notes)
    state.records.append(made.record)
    found = (
        find_artifacts(made.raw.structured_content) if made.raw is not None and not made.raw.is_error else []
    )
    state.artifacts.extend(found)
    return JudgedCall(made.record, found)


async def _one_call(
    call: ToolCall,
    toolset: WorkerToolset,
    policies: Sequence[Policy],
    state: RunState,
    outcome: LoopOutcome,
    progress: Progress,
    *,
    spent: bool,
) -> _Turn:
    """Judge and make one call the model asked for."""
    pending = toolset.pending(call.name, call.arguments)
    if pending is None:
        names = ", ".join(toolset.names())
        return _Turn(f"Not run: there is no tool {call.name!r}. The tools are: {names}.", True)
    if spent:
        return _Turn("Not run: the tool-call allowance of this step is spent.", True, True)
    judged = await judge_and_call(pending, toolset, policies, state, progress)
    record = judged.record
    if record.outcome == "refused":
        return _Turn(f"Not run: {record.error}", True, judged.end_tool_calls)
    outcome.artifacts.extend(judged.artifacts)
    shown = record.text if record.outcome in ("ok", "tool_error") else f"the call failed: {record.error}"
    text = clip(shown, TOOL_TEXT_LIMIT)
    if record.outcome != "ok":
        text = f"Error: {text}"
    extra = [f"({record.note})"] if record.note else []
    extra += [n for p in policies if (n := p.after_result(record, state))]
    return _Turn("\n".join([text, *extra]), record.outcome != "ok")


def first_objection(answer: str, policies: Sequence[Policy], state: RunState) -> tuple[Policy, str] | None:
    """The first policy that would send ``answer`` back, and its reason; None when every policy accepts it."""
    for policy in policies:
        try:
            policy.check_answer(answer, state)
        except SendBack as exc:
            return policy, str(exc)
    return None
