"""Fitting a plan to its request before it runs: deliverables only when asked, and what each phase must state.

A model planner may add a slide deck to a plain question (the 1.5B model did for four of five such requests). A
manager declared ``delivers = "files"`` makes such phases; when the request asks for no file, its phases are left
out, with the reason in the result. Whether it asks for one is ``wants_file`` (the answer to a question of its
own, ``_deliverables``), else the plan's ``asks_for``. Every other phase is told
what its answer must state (the plan's ``asks_for`` without ``"file"``), which the managers' ``answers_request``
policy checks. A plan of one phase that answers a question gives that phase the request itself as its goals, with
the planner's wording kept in its notes: one restatement fewer between what the user asked and the manager.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..core.config import ManagerConfig
from ..core.envelope import AnswerPart
from ..core.plan import Plan


@dataclass
class FittedPlan:
    """The plan to run, the phases left out (and why), and each phase's expectations."""

    plan: Plan
    dropped: list[str] = field(default_factory=list)
    expects: dict[str, list[AnswerPart]] = field(default_factory=dict)


def fit_plan(
    plan: Plan,
    managers: Mapping[str, ManagerConfig],
    wants_file: bool | None = None,
    *,
    request: str | None = None,
) -> FittedPlan:
    """``plan`` without file-making phases the request did not ask for, and what each phase must state; with
    ``request`` (the user's, not a replanning's), a single question-answering phase takes it as its goals."""
    makes_files = {key for key, m in managers.items() if m.delivers == "files"}
    phases = list(plan.phases)
    dropped: list[str] = []
    wants = wants_file if wants_file is not None else "file" in plan.asks_for
    if not wants:
        kept = [p for p in phases if p.worker not in makes_files]
        if kept:  # a plan of nothing but deliverables is what the request is about, whatever asks_for says
            dropped = [p.name for p in phases if p.worker in makes_files]
            phases = [
                p.model_copy(update={"depends_on": [d for d in p.depends_on if d not in dropped]})
                for p in kept
            ]
        else:
            wants = "file" in plan.asks_for
    primary = plan.primary_worker
    if all(p.worker != primary for p in phases):
        primary = phases[-1].worker
    if request and len(phases) == 1 and phases[0].worker not in makes_files:
        only = phases[0]
        notes = " ".join(part for part in (f"Planned as: {only.goals}.", only.notes) if part.strip())
        phases = [only.model_copy(update={"goals": request.strip(), "notes": notes})]
    answer_parts: list[AnswerPart] = [part for part in plan.asks_for if part != "file"]
    expects = {p.name: ([] if p.worker in makes_files else list(answer_parts)) for p in phases}
    # asks_for follows the decision, so the run is judged by it: no file expected when none was to be made.
    asks_for: list[AnswerPart] = [*answer_parts, "file"] if wants else answer_parts
    fitted = plan.model_copy(update={"phases": phases, "primary_worker": primary, "asks_for": asks_for})
    return FittedPlan(fitted, dropped, expects)
