"""``StrategicPlanner``: the orchestrator's planner. Request -> phases, each routed to one manager by domain.

It plans WHAT, never HOW: it sees managers and their descriptions, never tools. A plan naming an unknown manager is
sent back to the model with the error (a bounded number of times).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from ..core.llm import (
    Message,
    Model,
    ModelRequest,
    SendBack,
    TokenUsage,
    generate_structured,
    require,
    schema_with_choices,
)
from ..core.plan import Plan, PlanDocument
from ..core.prompts import few_shot, load_prompt


class PhasePlanner(ABC):
    """Turns a request into a phase plan over the given managers."""

    @abstractmethod
    async def plan(
        self, request: str, managers: Mapping[str, str], *, model: Model | None = None
    ) -> tuple[Plan, TokenUsage]:
        """Plan phases for ``request``; ``managers`` maps manager keys to their descriptions. ``model`` replaces
        the planner's own for this call (e.g. one that spends a delegation's budget)."""


def check_plan(plan: Plan, managers: Mapping[str, str], max_phases: int) -> None:
    """Raise SendBack naming the first phase routed to an unknown manager, or too many phases."""
    known = ", ".join(managers)
    if len(plan.phases) > max_phases:
        raise SendBack(f"the plan has {len(plan.phases)} phases; at most {max_phases} are allowed")
    for phase in plan.phases:
        if phase.worker not in managers:
            raise SendBack(
                f"phase {phase.name!r} is routed to {phase.worker!r}, which is not a manager (managers: {known})"
            )
    if plan.primary_worker not in managers:
        raise SendBack(f"primary_worker {plan.primary_worker!r} is not a manager (managers: {known})")


class StrategicPlanner(PhasePlanner):
    """Plans phases with the orchestrator's (powerful) model and few-shot examples."""

    def __init__(self, model: Model, *, max_phases: int = 5) -> None:
        self.model = model
        self.max_phases = max_phases

    async def plan(
        self, request: str, managers: Mapping[str, str], *, model: Model | None = None
    ) -> tuple[Plan, TokenUsage]:
        listing = "\n".join(f"- {key}: {description}" for key, description in managers.items())
        model_request = ModelRequest(
            system=load_prompt("strategic_planner", max_phases=self.max_phases),
            messages=[
                *few_shot("strategic_planner"),
                Message(role="user", content=f"Managers:\n{listing}\n\nRequest: {request}"),
            ],
            output_schema=require(
                schema_with_choices(
                    PlanDocument, {"PlanNode.worker": list(managers), "Plan.primary_worker": list(managers)}
                ),
                {"Plan": ["asks_for"]},
            ),
            purpose="plan_phases",
        )
        document, usage = await generate_structured(
            model or self.model,
            model_request,
            PlanDocument,
            validate=lambda doc: check_plan(doc.plan, managers, self.max_phases),
        )
        return document.plan, usage
