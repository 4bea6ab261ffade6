"""``raw_result_answer`` (a small-model aid): an answer that is a copy of a tool's raw result goes back once."""

from __future__ import annotations

from typing import ClassVar

from ..envelope import ErrorKind
from ._base import Policy, RunState, SendBack

_SHARED_KEYS = 2  # top-level keys of one result an answer must repeat to count as its copy


class RawResultAnswer(Policy):
    """A small model sometimes answers by writing a tool's JSON result out again: hundreds of tokens (minutes on a
    CPU) that state nothing a reader can use. An answer that opens as JSON and repeats the keys of a result it
    was given is sent back once, to be written in words. API models answer in words on their own."""

    name: ClassVar[str] = "raw_result_answer"
    description: ClassVar[str] = (
        "an answer that copies a tool's raw JSON result goes back to be written in words"
    )
    small_model_aid: ClassVar[bool] = True
    error_kind: ClassVar[ErrorKind] = "unanswered"

    def check_answer(self, answer: str, state: RunState) -> None:
        text = answer.lstrip()
        if not text.startswith(("{", "[")):
            return
        for record in state.records:
            result = record.result
            if record.outcome != "ok" or not isinstance(result, dict):
                continue
            if sum(f'"{key}"' in text for key in result) >= min(_SHARED_KEYS, len(result)):
                raise SendBack(
                    f"the answer is the raw result of {record.tool} copied out: answer the goals in a sentence "
                    "or two, in words, stating the figures and names from the result that they ask for"
                )
