"""Step execution: a bounded tool-use loop with the manager's model, restricted to the ONE worker a step names.

Tool results go back to the model until it answers without a tool call or the step's tool-call budget is spent.
A step whose plan already names the exact call makes that call directly (no model call), the router's cheap path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..core.envelope import (
    Artifact,
    ErrorInfo,
    PhaseContext,
    StepResult,
    ToolCallRecord,
    clip,
    tool_results_text,
)
from ..core.grounding import Grounding
from ..core.llm import Message, Model, ModelRequest, ToolCall, ToolDefinition
from ..core.plan import PlanNode, Step
from ..core.pool import ConnectionPool, result_text
from ..core.prompts import load_prompt
from ._discovery import WorkerInfo

TOOL_RESULT_LIMIT = 6000
# Reworded once to "if the results so far answer the goals ... if not, make the next call": the 1.5B model then
# named the wrong region in its summary in both runs, against 5 of 6 right with this wording.
DONE_HINT = "\n(The call succeeded. If this result meets the step's goals, reply now with the answer.)"


def find_artifacts(value: Any) -> list[Artifact]:
    """Files a tool reported: any object with a ``path`` and a ``mime_type`` inside its structured content."""
    found: list[Artifact] = []
    if isinstance(value, dict):
        if isinstance(value.get("path"), str) and isinstance(value.get("mime_type"), str):
            found.append(
                Artifact.model_validate({k: v for k, v in value.items() if k in Artifact.model_fields})
            )
        else:
            for item in value.values():
                found.extend(find_artifacts(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(find_artifacts(item))
    return found


class StepRunner:
    """Runs steps of one phase for one manager."""

    def __init__(
        self,
        *,
        manager: str,
        pool: ConnectionPool,
        model: Model,
        workers: dict[str, WorkerInfo],
        max_tool_calls: int,
    ) -> None:
        self.manager = manager
        self.pool = pool
        self.model = model
        self.workers = workers
        self.max_tool_calls = max_tool_calls

    async def _call(self, step: Step, call: ToolCall, result: StepResult, calls: list[dict[str, Any]]) -> str:
        """Make one tool call on the step's worker and record it; returns the text the model will read."""
        worker = self.workers[step.worker]
        record = ToolCallRecord(
            worker=step.worker, tool=call.name, arguments=call.arguments, manager=self.manager, step=step.name
        )
        result.provenance.append(record)
        result.usage.tool_calls += 1
        if worker.tool(call.name) is None:
            record.is_error = True
            names = ", ".join(t.name for t in worker.tools)
            return f"Error: worker {step.worker!r} has no tool {call.name!r}. Its tools are: {names}."
        started = time.perf_counter()
        try:
            answer = await self.pool.call_tool(step.worker, call.name, call.arguments)
        except Exception as exc:
            record.is_error = True
            result.errors.append(ErrorInfo(where=f"{step.worker}.{call.name}", message=str(exc), kind="tool"))
            return f"Error: the call failed: {exc}"
        finally:
            record.duration_ms = (time.perf_counter() - started) * 1000
        record.is_error = bool(answer.is_error)
        text = result_text(answer)
        if not answer.is_error:
            result.artifacts.extend(find_artifacts(answer.structured_content))
            calls.append(
                {"tool": call.name, "arguments": call.arguments, "result": answer.structured_content}
            )
        return f"Error: {text}" if answer.is_error else text

    async def _grounded_call(
        self, step: Step, call: ToolCall, result: StepResult, calls: list[dict[str, Any]], *, given: str
    ) -> tuple[str, bool]:
        """Make a call the model chose; one that writes content may state only figures from ``given`` (the step's
        prompt) or the results so far. List items with other figures are left out; any other such figure sends
        the call back unmade. Returns the text for the model and whether it is an error."""
        dropped: list[str] = []
        if self.workers[step.worker].writes_content(call.name):
            grounding = Grounding(given + "".join(json.dumps(c["result"], default=str) for c in calls))
            arguments, dropped = grounding.drop_missing(call.arguments)
            invented = grounding.missing(arguments)
            if invented:
                message = (
                    f"its arguments hold figures that are not in the context or the results so far: "
                    f"{', '.join(invented)}"
                )
                result.errors.append(
                    ErrorInfo(where=f"{step.worker}.{call.name}", message=message, kind="grounding")
                )
                return (
                    f"Not run: {message}. Use only those figures (rounding is fine) and leave out any that is "
                    "not known.",
                    True,
                )
            call = call.model_copy(update={"arguments": arguments})
        text = await self._call(step, call, result, calls)
        if dropped:
            text += f"\n(Left out, as their figures were not given: {'; '.join(dropped)})"
        return text, result.provenance[-1].is_error

    async def run(
        self, step: Step, phase: PlanNode, context: PhaseContext, inputs: Mapping[str, StepResult]
    ) -> StepResult:
        """Carry out ``step``; the results of the steps it depends on are in ``inputs``."""
        started = time.perf_counter()
        result = StepResult(step=step.name, worker=step.worker)
        calls: list[dict[str, Any]] = []
        if step.tool is not None and step.arguments is not None:
            text = await self._call(
                step, ToolCall(id="planned", name=step.tool, arguments=step.arguments), result, calls
            )
            if not result.provenance[-1].is_error:
                result.output = clip(text, TOOL_RESULT_LIMIT)
                result.data = {"calls": calls}
                result.usage.wall_seconds = time.perf_counter() - started
                return result
            # The planned call failed: let the tool loop work it out, with the error in front of it.
            inputs = dict(inputs)
            result.errors.append(
                ErrorInfo(where=f"{step.worker}.{step.tool}", message=text, kind="planned_call")
            )
        await self._loop(step, phase, context, inputs, result, calls)
        result.data = {"calls": calls}
        failed_calls = [r for r in result.provenance if r.is_error]
        if not result.output.strip():
            result.status = "failed"
        elif failed_calls and len(failed_calls) == len(result.provenance):
            result.status = "partial"
        result.usage.wall_seconds = time.perf_counter() - started
        return result

    async def _loop(
        self,
        step: Step,
        phase: PlanNode,
        context: PhaseContext,
        inputs: Mapping[str, StepResult],
        result: StepResult,
        calls: list[dict[str, Any]],
    ) -> None:
        worker = self.workers[step.worker]
        tools = [
            ToolDefinition(name=t.name, description=t.description, parameters=t.input_schema)
            for t in worker.tools
        ]
        earlier = "\n\n".join(
            f"Result of step {name!r}:{tool_data(r)}\nIts summary: {clip(r.output, 3000)}"
            for name, r in inputs.items()
        )
        prior_errors = "".join(f"\nA planned call failed: {e.message}" for e in result.errors)
        user = (
            f"Phase: {phase.name} - {phase.goals}\nStep: {step.name}\nGoals: {step.goals}\nNotes: {step.notes}"
            f"\n\nContext from earlier phases:\n{context.render(limit=2500)}"
            + (f"\n\nResults of earlier steps:\n{earlier}" if earlier else "")
            + prior_errors
        )
        messages = [Message(role="user", content=user)]
        system = load_prompt("step_executor", manager=self.manager, worker=step.worker)
        if worker.instructions:
            system += f"\n\nHow to use {step.worker} (from its own instructions): {worker.instructions}"
        used = 0
        failed_calls: dict[str, str] = {}
        repeats: dict[str, int] = {}
        while True:
            allow_tools = used < self.max_tool_calls
            if not allow_tools:
                messages.append(
                    Message(
                        role="user",
                        content="No more tool calls. Write your answer to the step's goals now, stating the exact "
                        "figures and names from the tool results above; if they hold no usable data, say so.",
                    )
                )
            response = await self.model.request(
                ModelRequest(
                    system=system, messages=messages, tools=tools if allow_tools else [], max_tokens=1024
                )
            )
            result.usage.add_tokens(response.usage, self.model.name)
            if not response.tool_calls or not allow_tools:
                result.output = "" if _looks_like_tool_call(response.text) else response.text.strip()
                return
            messages.append(Message(role="assistant", content=response.text, tool_calls=response.tool_calls))
            for call in response.tool_calls:
                key = f"{call.name}:{json.dumps(call.arguments, sort_keys=True, default=str)}"
                if used >= self.max_tool_calls:
                    text, is_error = "Not run: the tool budget for this step is spent.", True
                elif key in failed_calls:
                    # Small models repeat a failing call verbatim; point at the error instead of re-running it.
                    # It still spends the budget, and a second repeat ends the tool calls: a model that has not
                    # changed the call after seeing the error twice will not, and the answer is due.
                    used += 1
                    repeats[key] = repeats.get(key, 0) + 1
                    if repeats[key] >= 2:
                        used = self.max_tool_calls
                    text = f"Not run: this exact call already failed with: {failed_calls[key]} Change the arguments."
                    is_error = True
                else:
                    used += 1
                    text, is_error = await self._grounded_call(step, call, result, calls, given=user)
                    if is_error:
                        failed_calls[key] = clip(text, 500)
                    else:
                        # Small models keep calling tools after they have what the goals ask for.
                        text = clip(text, TOOL_RESULT_LIMIT) + DONE_HINT
                messages.append(
                    Message(
                        role="tool",
                        tool_call_id=call.id,
                        content=clip(text, TOOL_RESULT_LIMIT + len(DONE_HINT)),
                        is_error=is_error,
                    )
                )


def tool_data(step: StepResult) -> str:
    """The data the step's last successful, non-empty tool calls returned, as prompt lines."""
    return tool_results_text((step.data or {}).get("calls") or [])


def _looks_like_tool_call(text: str) -> bool:
    """A small model that may not call tools any more sometimes writes the call as text: that is no answer."""
    stripped = text.strip()
    return stripped.startswith("{") and '"tool"' in stripped[:40] and '"arguments"' in stripped
