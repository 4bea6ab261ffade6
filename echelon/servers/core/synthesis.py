"""Synthesis and the status roll-up, one of each for both levels.

A manager synthesizes its steps into a phase answer (``PhaseAnswer``: the answer, whether the goals were met, what
is missing); the orchestrator synthesizes phases into the final answer (``FinalAnswer``). Both go through
``synthesize``: structured output whose answer the level's policies judge (figures from the results, the figure or
name the request asks for), sent back when they object. When no valid answer comes, nothing done is lost: the
caller keeps the parts' texts as the output, and the roll-up makes the result ``partial``, never ``ok``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pydantic import BaseModel

from .budget import BudgetExhausted
from .envelope import AnswerText, ErrorInfo, Status
from .llm import (
    Message,
    Model,
    ModelError,
    ModelRequest,
    StructuredOutputError,
    TokenUsage,
    generate_structured,
)
from .policies import Policy, RunState


class FinalAnswer(BaseModel):
    """The orchestrator's synthesized answer."""

    answer: AnswerText


class PhaseAnswer(FinalAnswer):
    """A manager's synthesized answer for a phase."""

    goal_met: bool
    missing: str = ""


@dataclass
class SynthesisOutcome:
    """The synthesized answer, or the error that stood in its way; and what the model calls cost."""

    answer: str = ""
    goal_met: bool = False
    missing: str = ""
    usage: TokenUsage = field(default_factory=TokenUsage)
    error: ErrorInfo | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def synthesize(
    model: Model,
    *,
    system: str,
    content: str,
    evidence: str,
    output_type: type[FinalAnswer],
    policies: Sequence[Policy],
    state: RunState,
    where: str,
) -> SynthesisOutcome:
    """Ask ``model`` for ``output_type`` over ``content`` (the results); every policy judges the answer against
    ``state`` with ``evidence`` as its given text: what the answer may draw on besides the tools' results, which
    leaves out summaries a model wrote (they may hold the very figures a policy refused)."""
    state.given = evidence

    def validate(value: FinalAnswer) -> None:
        # An answer that says the goals were not met is not held to stating what they ask for.
        judged = state if not isinstance(value, PhaseAnswer) or value.goal_met else replace(state, expects=[])
        for policy in policies:
            policy.check_answer(value.answer, judged)

    request = ModelRequest(
        system=system, messages=[Message(role="user", content=content)], purpose="synthesis"
    )
    try:
        value, usage = await generate_structured(model, request, output_type, validate=validate)
    except StructuredOutputError as exc:
        return SynthesisOutcome(
            usage=exc.usage, error=ErrorInfo(where=where, message=str(exc), kind="synthesis")
        )
    except ModelError as exc:
        return SynthesisOutcome(error=ErrorInfo(where=where, message=str(exc), kind="synthesis"))
    except BudgetExhausted as exc:
        return SynthesisOutcome(error=ErrorInfo(where=where, message=str(exc), kind="budget"))
    if isinstance(value, PhaseAnswer):
        return SynthesisOutcome(value.answer, value.goal_met, value.missing, usage)
    return SynthesisOutcome(value.answer, True, "", usage)


def roll_up(parts: Sequence[Status], *, answered: bool, errors: Sequence[ErrorInfo] = ()) -> Status:
    """A result's status from its parts' and whether it has an answer that answers: ``ok`` only when every part is
    ok and it does; ``failed`` when nothing worked; otherwise ``partial``. A run a limit stopped (a ``budget``
    error) is ``partial`` however little it did: it was stopped, not broken, and the error names the limit."""
    status = _roll_up(parts, answered=answered)
    if status in ("ok", "failed") and any(e.kind == "budget" for e in errors):
        return "partial"
    return status


def _roll_up(parts: Sequence[Status], *, answered: bool) -> Status:
    worked = [p for p in parts if p in ("ok", "partial")]
    if answered and worked and len(worked) == len(parts) and all(p == "ok" for p in parts):
        return "ok"
    if answered and not parts:
        return "ok"
    if not worked and not answered:
        return "cancelled" if parts and all(p == "cancelled" for p in parts) else "failed"
    return "partial"
