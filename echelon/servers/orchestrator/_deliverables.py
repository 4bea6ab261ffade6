"""Whether a request asks for a file: one constrained yes/no question, asked apart from planning.

A planner fills ``asks_for`` among many other fields, and a small model often puts ``"file"`` there for a plain
question, so a deck phase ran that nobody asked for. Asked on its own, with two possible answers, the decision is
easier to get right: ``benchmarks.deliverables`` measures both ways on the question set. It is asked only when a
plan would make a file beside other work, and its answer decides whether the file-making phases run (``_fit``);
this is ``[orchestrator] deliverables = "question"``, the default. ``"plan"`` trusts the plan's ``asks_for``
instead and saves the model call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

from ..core.config import ManagerConfig
from ..core.llm import Message, Model, ModelError, ModelRequest, TokenUsage, generate_structured
from ..core.plan import Plan
from ..core.prompts import load_prompt

logger = logging.getLogger(__name__)


class FileDecision(BaseModel):
    """The answer to "does this request ask for a file to be made?"."""

    asks_for_file: Literal["yes", "no"] = Field(description="yes only when the request asks for a file")


def needs_decision(plan: Plan, managers: Mapping[str, ManagerConfig]) -> bool:
    """Whether ``plan`` makes a file beside other work: only then is there a phase to keep or leave out."""
    makes_files = [p.worker in managers and managers[p.worker].delivers == "files" for p in plan.phases]
    return any(makes_files) and not all(makes_files)


async def asks_for_file(model: Model, request: str) -> tuple[bool | None, TokenUsage]:
    """The model's yes/no on whether ``request`` asks for a file; None when it gave no valid answer (the plan's
    ``asks_for`` then decides)."""
    question = ModelRequest(
        system=load_prompt("deliverable_question"),
        messages=[Message(role="user", content=f"Request: {request}")],
        purpose="decide",
    )
    try:
        decision, usage = await generate_structured(model, question, FileDecision, max_repairs=1)
    except ModelError as exc:
        logger.warning("no answer to whether the request asks for a file (%s); the plan decides", exc)
        return None, TokenUsage()
    return decision.asks_for_file == "yes", usage
