"""``answer_hint`` (a small-model aid): after a successful call, tell the model it may answer now."""

from __future__ import annotations

from typing import ClassVar

from ..envelope import ToolCallRecord
from ._base import Policy, RunState


class AnswerHint(Policy):
    """Small models keep calling tools after they have what the goals ask for; a line after each successful result
    says that it may be the answer. API models stop on their own, so this aid changes little for them."""

    name: ClassVar[str] = "answer_hint"
    description: ClassVar[str] = "after a successful result, says the model may answer now"
    small_model_aid: ClassVar[bool] = True

    def after_result(self, record: ToolCallRecord, state: RunState) -> str | None:
        if record.outcome != "ok":
            return None
        return "(The call succeeded. If this result meets the step's goals, reply now with the answer.)"
