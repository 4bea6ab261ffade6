"""Named policies for the tool loop and synthesis, chosen per manager (and for the orchestrator) in ``echelon.toml``.

``policies = ["loop_guard", "prose_answer", "figure_grounding", "answer_hint", "answers_request",
"keeps_named_values", "row_figures"]`` is the default; a policy that only helps small models says so
(``small_model_aid``). Nothing in a policy names data of any particular database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ._answers import AnswersTheRequest
from ._base import Allow, CallDecision, PendingCall, Policy, Refuse, Rewrite, RunState, SendBack
from ._grounding import FigureGrounding
from ._guard import LoopGuard
from ._hints import AnswerHint
from ._named import KeepsNamedValues
from ._prose import ProseAnswer
from ._rows import RowFigures

PolicyName = Literal[
    "prose_answer",
    "figure_grounding",
    "loop_guard",
    "answer_hint",
    "answers_request",
    "keeps_named_values",
    "row_figures",
    "raw_result_answer",
]

POLICIES: dict[PolicyName, type[Policy]] = {
    "figure_grounding": FigureGrounding,
    "loop_guard": LoopGuard,
    "answer_hint": AnswerHint,
    "answers_request": AnswersTheRequest,
    "keeps_named_values": KeepsNamedValues,
    "prose_answer": ProseAnswer,
    "row_figures": RowFigures,
    "raw_result_answer": ProseAnswer,  # still accepted in configs: prose_answer covers what it checked
}
DEFAULT_POLICIES: list[PolicyName] = [
    "loop_guard",
    "prose_answer",
    "figure_grounding",
    "answer_hint",
    "answers_request",
    "keeps_named_values",
    "row_figures",
]


def build_policies(names: Sequence[PolicyName]) -> list[Policy]:
    """Fresh policy objects for ``names``, in that order."""
    return [POLICIES[name]() for name in names]


__all__ = [
    "DEFAULT_POLICIES",
    "POLICIES",
    "Allow",
    "AnswerHint",
    "AnswersTheRequest",
    "CallDecision",
    "FigureGrounding",
    "KeepsNamedValues",
    "LoopGuard",
    "PendingCall",
    "Policy",
    "PolicyName",
    "ProseAnswer",
    "Refuse",
    "Rewrite",
    "RowFigures",
    "RunState",
    "SendBack",
    "build_policies",
]
