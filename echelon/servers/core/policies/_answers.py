"""``answers_request``: an answer states what was asked for (a figure, a name from the data) when the data has it."""

from __future__ import annotations

from typing import ClassVar

from ..envelope import ErrorKind
from ..evidence import data_values
from ..grounding import Grounding
from ._base import Policy, RunState, SendBack

MIN_NAME_LENGTH = 2
MAX_NAME_LENGTH = 80
PROSE_WORDS = 4  # a string of this many words is prose (a passage), not a label or a date


def names_something(answer: str, strings: list[str]) -> bool:
    """Whether ``answer`` contains one of ``strings`` (case-insensitive), ignoring very short and long ones."""
    lowered = answer.lower()
    return any(
        MIN_NAME_LENGTH <= len(s.strip()) <= MAX_NAME_LENGTH and s.strip().lower() in lowered for s in strings
    )


def cites_a_figure(answer: str, numbers: list[str]) -> bool:
    """Whether ``answer`` states at least one of ``numbers`` (the data's), as written or rounded."""
    return Grounding(" ".join(numbers)).cited(answer)


class AnswersTheRequest(Policy):
    """When the request asks for a figure or a name (``RunState.expects``, from the plan) and the tools returned
    data, the answer must state a figure and name something found in the data; otherwise it goes back once with
    that said. An answer to a question the data cannot answer (no data came back) is left to say so, and one that
    comes with a file the run made points to the file, which carries the figures."""

    name: ClassVar[str] = "answers_request"
    description: ClassVar[str] = "the answer states the figure or the name the request asks for"
    error_kind: ClassVar[ErrorKind] = "unanswered"

    def check_answer(self, answer: str, state: RunState) -> None:
        if state.artifacts:
            return  # a file was made: it carries the figures and names, and the answer points to it
        strings, numbers = data_values(state.records)
        # A figure a passage states ("a ten-year warranty") is data too, as digits or in words.
        numbers += [s for s in strings if len(s.split()) >= PROSE_WORDS and Grounding(s).numbers]
        if "figure" in state.expects and numbers and not cites_a_figure(answer, numbers):
            raise SendBack(
                "the request asks for a figure and the answer states none: state the figures from the data above, "
                "each with what it is"
            )
        if "name" in state.expects and strings and not names_something(answer, strings):
            raise SendBack(
                "the request asks which one (a name) and the answer names nothing from the data: name it exactly "
                "as the data above writes it"
            )
