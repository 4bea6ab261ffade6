"""``prose_answer``: a written answer is sentences, not JSON (a tool call or a result written out as text)."""

from __future__ import annotations

from typing import ClassVar

from ..envelope import ErrorKind, json_text_kind
from ._base import Policy, RunState, SendBack


class ProseAnswer(Policy):
    """An answer people read is sentences. Models sometimes answer with JSON instead: a tool call written as text
    after the tools were closed, a tool's result copied out, or their own ad-hoc object (``{"total": 5}``). Such an
    answer states nothing a reader can use and is sent back once, saying which of these it was; one that stays JSON
    is recorded as unanswered. Small models do this most, but the rule holds for every model, as it does for the
    synthesized answers (``envelope.AnswerText``)."""

    name: ClassVar[str] = "prose_answer"
    description: ClassVar[str] = (
        "an answer written as JSON (a tool call or a result) goes back to be written in words"
    )
    error_kind: ClassVar[ErrorKind] = "unanswered"

    def check_answer(self, answer: str, state: RunState) -> None:
        kind = json_text_kind(answer)
        if kind is None:
            return
        if kind == "tool_call":
            raise SendBack(
                "the answer is a tool call written as text, and it was not run: answer the goals in a sentence or "
                "two, in words, stating the figures and names from the tool results you have"
            )
        copied = _copied_tool(answer, state)
        what = f"the raw result of {copied} copied out" if copied else "JSON"
        raise SendBack(
            f"the answer is {what}: answer the goals in a sentence or two, in words, stating the figures and names "
            "they ask for, each with what it is"
        )


_SHARED_KEYS = 2  # top-level keys of one result an answer must repeat to count as its copy


def _copied_tool(answer: str, state: RunState) -> str | None:
    """The tool whose result ``answer`` repeats (its top-level keys), if any."""
    for record in state.records:
        result = record.result
        if not (record.outcome == "ok" and isinstance(result, dict) and result):
            continue
        if sum(f'"{key}"' in answer for key in result) >= min(_SHARED_KEYS, len(result)):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
            return record.tool
    return None
