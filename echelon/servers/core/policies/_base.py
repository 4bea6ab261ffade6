"""The policy interface: small named objects with hooks the one tool loop and synthesis call.

Mechanism (the loop, synthesis) is apart from policy (what is allowed): before a call a policy may allow it,
rewrite its arguments (saying what it changed) or refuse it with a reason the model reads; after a result it may
add a note for the model; on a final answer it may send the answer back once with a reason (``SendBack``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..envelope import AnswerPart, Artifact, ErrorKind, ToolCallRecord
from ..llm.structured import SendBack
from ..tooling import LinkedValue, NamesCandidates, SelectsValues

__all__ = ["Allow", "CallDecision", "PendingCall", "Policy", "Refuse", "Rewrite", "RunState", "SendBack"]


@dataclass(frozen=True)
class PendingCall:
    """A tool call the model asked for, before it is made."""

    worker: str
    tool: str
    arguments: dict[str, Any]
    read_only: bool = False
    figure_arguments: tuple[str, ...] = ()
    """Arguments the tool declares take figures from data (``catalog.FIGURE_ARGUMENTS``)."""
    data_fields: tuple[str, ...] = ()
    """Fields of the tool's result that hold what it found (``tooling.DATA_FIELDS``); empty: all of it."""
    overall_fields: tuple[str, ...] = ()
    """Fields of the tool's result with figures of all rows together (``tooling.OVERALL_FIELDS``)."""
    names_candidates: NamesCandidates | None = None
    """The argument that makes the tool's result name each candidate (``tooling.NAMES_CANDIDATES``)."""
    selects_values: SelectsValues | None = None
    """The argument in which the tool selects rows by value (``tooling.SELECTS_VALUES``)."""


@dataclass(frozen=True)
class Allow:
    """Make the call as asked."""


@dataclass(frozen=True)
class Rewrite:
    """Make the call with other arguments; ``note`` tells the model what changed."""

    arguments: dict[str, Any]
    note: str


@dataclass(frozen=True)
class Refuse:
    """Do not make the call; the model reads ``reason``. ``end_tool_calls`` ends the loop's tool calls."""

    reason: str
    end_tool_calls: bool = False


CallDecision = Allow | Rewrite | Refuse


@dataclass
class RunState:
    """What the policies of one loop or synthesis judge against: the text the model was given, the calls made so
    far (the trace), what the answer must state, the files made, and the question itself (``asked``: the request
    and the goals it was given, whose own words an answer can repeat without answering anything), and the values the
    data stores that the request names."""

    given: str
    records: list[ToolCallRecord] = field(default_factory=list)
    expects: list[AnswerPart] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    asked: str = ""
    named_values: list[LinkedValue] = field(default_factory=list[LinkedValue])
    """Values the data stores that the request names, found before planning (``tooling.LINKS_VALUES``)."""

    def evidence(self) -> str:
        """Everything a figure may come from: the given text and every successful result so far."""
        results = [
            json.dumps(r.result, default=str) if r.result is not None else r.text
            for r in self.records
            if r.outcome == "ok"
        ]
        return "\n".join([self.given, *results])


class Policy:
    """A policy's hooks; each does nothing unless a subclass says otherwise."""

    name: ClassVar[str]
    description: ClassVar[str]
    small_model_aid: ClassVar[bool] = False
    """True for a policy that only helps small models (API models do not need it)."""
    error_kind: ClassVar[ErrorKind] = "grounding"
    """How a final answer this policy still objects to is recorded."""

    def before_call(self, call: PendingCall, state: RunState) -> CallDecision:
        return Allow()

    def after_result(self, record: ToolCallRecord, state: RunState) -> str | None:
        """A note appended to what the model reads of ``record``, or None."""
        return None

    def check_answer(self, answer: str, state: RunState) -> None:
        """Raise ``SendBack`` with a reason when ``answer`` should go back to the model."""
