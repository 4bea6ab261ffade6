"""``figure_grounding``: every figure a model writes must come from what it was given or what the tools returned."""

from __future__ import annotations

from typing import Any, ClassVar

from ..grounding import Grounding
from ._base import Allow, CallDecision, PendingCall, Policy, Refuse, Rewrite, RunState, SendBack


class FigureGrounding(Policy):
    """Figures in content a user reads (the arguments of a tool not marked read-only: a deck, a file, a message)
    and in final answers must appear in the evidence, rounding allowed. A list item (a bullet) holding another
    figure is left out and the model told; any other such figure refuses the call or sends the answer back.
    Read-only tools' queries and expressions are not checked: their constants (``LIMIT 10``) are no claims; but
    arguments a tool declares take figures from data (a statistic's or a growth rate's input series) are, read-only
    or not: a computation on figures nobody gave answers with an invented result."""

    name: ClassVar[str] = "figure_grounding"
    description: ClassVar[str] = "figures in answers and written content must come from the data"

    def before_call(self, call: PendingCall, state: RunState) -> CallDecision:
        if call.read_only:
            return self._declared_figures(call, state)
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

    def _declared_figures(self, call: PendingCall, state: RunState) -> CallDecision:
        figures = [
            str(v)
            for name in call.figure_arguments
            for v in _items(call.arguments.get(name))
            if isinstance(v, int | float | str) and not isinstance(v, bool)
        ]
        invented = Grounding(state.evidence()).missing(figures) if figures else []
        if not invented:
            return Allow()
        return Refuse(
            f"{' and '.join(call.figure_arguments)} must be figures from the request or from results so far, and "
            f"{', '.join(invented)} {'is' if len(invented) == 1 else 'are'} in neither: a computation on figures "
            "that were not given answers nothing. Use figures from the results; if the data they need is not "
            "here, say so in your answer"
        )

    def check_answer(self, answer: str, state: RunState) -> None:
        invented = Grounding(state.evidence()).missing(answer)
        if invented:
            raise SendBack(
                f"the answer states figures that are not in the results: {', '.join(invented)}. Use only figures "
                "from the results (rounding is fine), or say that a figure is not known"
            )


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]  # pyright: ignore[reportUnknownArgumentType]
