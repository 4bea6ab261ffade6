"""The text a manager's models read: the context from earlier phases, a step's task, the step results to synthesize.

Every text leads with what the tools returned (the typed trace), not a model's summary of it, and says outright
when an earlier phase's goals were not met, so a later one reports the gap instead of filling it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..core.contracts import PhaseContext
from ..core.envelope import StepResult, clip
from ..core.evidence import call_data_text, evidence_text
from ..core.grounding import states_a_figure
from ..core.plan import PlanNode, Step


def context_text(context: PhaseContext, limit: int = 4000) -> str:
    """The results of earlier phases, each output cut to ``limit`` characters, with their tools' data."""
    if not context.prior:
        return "(none)"
    parts: list[str] = []
    for prior in context.prior:
        data = "".join(call_data_text(c, min(limit, 1500)) for c in prior.calls)
        files = "".join(f"\n  file: {a.path}" for a in prior.artifacts)
        gap = f"\nIts goals were NOT met; missing: {prior.missing}" if prior.missing else ""
        parts.append(
            f"Result of phase {prior.phase!r} ({prior.manager}):\n{clip(prior.output, limit)}{gap}{data}{files}"
        )
    return "\n\n".join(parts)


def step_prompt(
    step: Step,
    phase: PlanNode,
    context: PhaseContext,
    inputs: Mapping[str, StepResult],
    planned_error: str,
    links: str = "",
) -> str:
    """What the step's loop is asked to do: the phase, the step, earlier context and earlier steps' results, and
    the values the manager's lookups found the request names (``links``)."""
    earlier = "\n\n".join(
        f"Result of step {name!r}:{evidence_text(r.calls)}\nIts summary: {clip(r.output, 3000)}"
        for name, r in inputs.items()
    )
    # The user's own words come first: the phase and the step are a model's restatement of them, which can
    # lose a period, a name or the SQL the user asked about; the goals still say which part is this step's.
    asked = (
        f"The user's request (this step does only its own part of it): {context.request}\n"
        if context.request
        else ""
    )
    if links:
        asked += f"{links}\n"
    return (
        f"{asked}Phase: {phase.name} - {phase.goals}\nStep: {step.name}\nGoals: {step.goals}\nNotes: {step.notes}"
        f"\n\nContext from earlier phases:\n{context_text(context, limit=2500)}"
        + (f"\n\nResults of earlier steps:\n{earlier}" if earlier else "")
        + (f"\nA planned call failed: {planned_error}" if planned_error else "")
    )


def phase_text(phase: PlanNode, context: PhaseContext) -> str:
    """The request, the phase and the context from earlier phases: what a phase's answer may draw on besides its
    own tools' results."""
    return (
        f"User request: {context.request or '(not given)'}\nPhase: {phase.name}\n"
        f"Goals: {phase.goals}\nNotes: {phase.notes}\n"
        f"Context from earlier phases:\n{context_text(context, limit=1500)}"
    )


def synthesis_content(
    phase: PlanNode, context: PhaseContext, steps: list[StepResult], notes: Mapping[str, str]
) -> str:
    """The phase and its steps' results, for the manager's synthesis."""
    steps_text = "\n\n".join(_step_text(s, notes.get(s.step, "")) for s in steps)
    return f"{phase_text(phase, context)}\n\nStep results:\n{steps_text}"


def steps_fallback_text(steps: list[StepResult]) -> str:
    """The steps' own outputs, the phase's output when synthesis gave no answer."""
    return "\n\n".join(f"[{s.step} ({s.worker}, {s.status})]\n{s.output}" for s in steps)


def _step_text(step: StepResult, notes: str) -> str:
    data = evidence_text(step.calls)
    label = "The step's summary (the data above is right where they differ)" if data else "The step's summary"
    # Next to data, a summary without figures only tempts synthesis to answer as tersely.
    summary = "" if data and not states_a_figure(step.output) else f"\n{label}: {clip(step.output, 3000)}"
    failed = sum(1 for c in step.calls if c.is_error)
    return (
        f"Step {step.step!r} ({step.worker}, {step.status}; {len(step.calls)} tool calls, {failed} failed):"
        + (f"\nIts notes: {notes}" if notes else "")
        + data
        + summary
        + "".join(f"\nfile: {a.path}" for a in step.artifacts)
    )
