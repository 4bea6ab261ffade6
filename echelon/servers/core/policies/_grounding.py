"""``figure_grounding``: every figure a model writes must come from what it was given or what the tools returned."""

from __future__ import annotations

from typing import ClassVar

from ..grounding import Grounding
from ._base import Allow, CallDecision, PendingCall, Policy, Refuse, Rewrite, RunState, SendBack


class FigureGrounding(Policy):
    """Figures in content a user reads (the arguments of a tool not marked read-only: a deck, a file, a message)
    and in final answers must appear in the evidence, rounding allowed. A list item (a bullet) holding another
    figure is left out and the model told; any other such figure refuses the call or sends the answer back.
    Read-only tools' queries and expressions are not checked: their constants (``LIMIT 10``) are no claims."""

    name: ClassVar[str] = "figure_grounding"
    description: ClassVar[str] = "figures in answers and written content must come from the data"

    def before_call(self, call: PendingCall, state: RunState) -> CallDecision:
        if call.read_only:
            return Allow()
        grounding = Grounding(state.evidence())
        arguments, dropped = grounding.drop_missing(call.arguments)
        invented = grounding.missing(arguments)
        if invented:
            return Refuse(
                f"its arguments hold figures that are not in the context or the results so far: "
                f"{', '.join(invented)}. Use only those figures (rounding is fine) and leave out any that is "
                "not known"
            )
        if dropped:
            return Rewrite(arguments, f"Left out, as their figures were not given: {'; '.join(dropped)}")
        return Allow()

    def check_answer(self, answer: str, state: RunState) -> None:
        invented = Grounding(state.evidence()).missing(answer)
        if invented:
            raise SendBack(
                f"the answer states figures that are not in the results: {', '.join(invented)}. Use only figures "
                "from the results (rounding is fine), or say that a figure is not known"
            )
