"""``answers_request``: an answer states what was asked for (a figure, a name from the data) when the data has it."""

from __future__ import annotations

import json
import re
from typing import ClassVar

from ..envelope import ErrorKind
from ..evidence import data_values, row_and_overall_values
from ..grounding import Grounding
from ..tooling import NamesCandidates
from ._base import Allow, CallDecision, PendingCall, Policy, Refuse, RunState, SendBack

MIN_NAME_LENGTH = 2
MAX_NAME_LENGTH = 80
PROSE_WORDS = 4  # a string of this many words is prose (a passage), not a label or a date
SUGGESTED_VALUES = 3


_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_ISO_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$")


def _spellings(name: str) -> list[str]:
    """How an answer may write ``name``: as it is, and a month or a day (``2025-07``, ``2025-07-14``) by its
    month's name too ("July", "Jul 2025"): data writes dates one way, people another."""
    found = _ISO_MONTH.match(name)
    if not found:
        return [name]
    month = _MONTHS[int(found.group(1)) - 1]
    return [name, month, month[:3]]


def names_something(answer: str, strings: list[str]) -> bool:
    """Whether ``answer`` contains one of ``strings`` (case-insensitive; a date also by its month's name, as a
    word), ignoring very short and long ones."""
    lowered = answer.lower()
    words = set(re.findall(r"[a-z]+", lowered))
    for s in strings:
        name = s.strip().lower()
        if not MIN_NAME_LENGTH <= len(name) <= MAX_NAME_LENGTH:
            continue
        first, *others = _spellings(name)
        if first in lowered or any(other in words for other in others):
            return True
    return False


_RANKED = re.compile(r"\b(?:which|what)\s+([a-z]+)(?:\s+([a-z]+))?")


def _stems(text: str) -> set[str]:
    return {w.removesuffix("s") for w in re.findall(r"[a-z]+", text.lower()) if len(w) > MIN_NAME_LENGTH}


def _ranks_by(value: str) -> set[str]:
    """The words of what a value groups by: ``month(sale_date)`` ranks months, whichever column they are of."""
    return _stems(re.sub(r"\(.*?\)", " ", value))


def ranked_values(values: list[str], asked: str) -> list[str]:
    """The allowed values that name what the question ranks: those sharing a word with the words after "which"
    or "what" in ``asked`` ("which month", "what product category"), else with any word of it ("our slowest
    month"); most shared words first, then the simplest."""
    wanted = set[str]()
    for found in _RANKED.finditer(asked.lower()):
        wanted |= _stems(" ".join(g for g in found.groups() if g))
    return _sharing(values, wanted) or _sharing(values, _stems(asked))


def _sharing(values: list[str], wanted: set[str]) -> list[str]:
    scored = sorted((-len(_ranks_by(v) & wanted), len(_ranks_by(v)), v) for v in values)
    return [v for unshared, _, v in scored if unshared < 0][:SUGGESTED_VALUES]


def names_nothing_reason(tool: str, candidates: NamesCandidates, asked: str) -> str:
    """Why a call without its candidates argument cannot answer "which one", and what to set instead."""
    arg = candidates.argument
    examples = [json.dumps([v] if candidates.many else v) for v in ranked_values(candidates.values, asked)]
    shown = f" (e.g. {' or '.join(f'{arg}={e}' for e in examples)})" if examples else ""
    how = f" {candidates.how.rstrip('.')}." if candidates.how else ""
    return (
        f"the request asks which one (a name), and without {arg} this call's result holds figures that name "
        f"nothing. Call {tool} with {arg} set to what the question ranks{shown}, so that each candidate gets "
        f"its own row.{how}"
    )


def cites_a_figure(answer: str, numbers: list[str]) -> bool:
    """Whether ``answer`` states at least one of ``numbers`` (the data's), as written or rounded."""
    return Grounding(" ".join(numbers)).cited(answer)


def beyond_the_question(strings: list[str], numbers: list[str], asked: str) -> tuple[list[str], list[str]]:
    """The data's names and figures that the question (``asked``) does not itself state: a year or a name taken
    from the question and written back is no sign that an answer read the data."""
    if not asked.strip():
        return strings, numbers
    lowered = asked.lower()
    stated = set(Grounding(asked).numbers)
    new_strings = [s for s in strings if s.strip().lower() not in lowered]
    new_numbers = [n for n in numbers if not set(Grounding(n).numbers) <= stated]
    return new_strings, new_numbers


def overall_figure_given_to_a_row(answer: str, state: RunState) -> str | None:
    """Why ``answer`` goes back when it names one of the results' rows and gives it, as its only figure from
    them, one that holds for all rows together (a total, an average per group: ``ToolCallRecord.overall_fields``);
    None when it does not."""
    names, row_numbers, overall = row_and_overall_values(state.records)
    if not names or not names_something(answer, names) or cites_a_figure(answer, row_numbers):
        return None
    # A figure of all rows together that is also one row's own (a single group) is that row's too.
    taken = [n for n in overall if cites_a_figure(answer, [n]) and not cites_a_figure(n, row_numbers)]
    if not taken:
        return None
    return (
        f"the answer gives {', '.join(taken)}, which the results state for all rows together (overall), as the "
        "figure of the one it names: state that one's own figures from its row in the results above"
    )


class AnswersTheRequest(Policy):
    """When the request asks for a figure or a name (``RunState.expects``, from the plan) and the tools returned
    data, the answer must state a figure and name something found in the data, and at least one of them must be
    something the question did not already say (an answer that restates the task, its years and its terms, has
    answered nothing); otherwise it goes back once with that said. An answer to a question the data cannot answer
    (no data came back) is left to say so, and one that comes with a file the run made points to the file, which
    carries the figures. When the tools answered but found nothing, the answer must not state a figure at all (not
    even 0): it says the data does not have it. When the request asks which one and the results hold figures but
    no names (a maximum over all rows cannot say whose it is), the answer goes back asking for results that name
    the candidates; and a call that would give such results (it leaves out the argument its tool declares makes
    results name candidates, ``tooling.NAMES_CANDIDATES``) is refused beforehand, saying what to set. An answer
    that names one row and gives it a figure of all rows together (``tooling.OVERALL_FIELDS``) goes back."""

    name: ClassVar[str] = "answers_request"
    description: ClassVar[str] = "the answer states the figure or the name the request asks for"
    error_kind: ClassVar[ErrorKind] = "unanswered"

    def before_call(self, call: PendingCall, state: RunState) -> CallDecision:
        """A call that leaves out the argument its tool declares makes results name candidates is refused when
        the request asks which one: its figures could name nothing (say, an overall maximum)."""
        wanted = call.names_candidates
        if wanted is None or "name" not in state.expects or call.arguments.get(wanted.argument):
            return Allow()
        return Refuse(names_nothing_reason(call.tool, wanted, state.asked))

    def check_answer(self, answer: str, state: RunState) -> None:
        if state.artifacts:
            return  # a file was made: it carries the figures and names, and the answer points to it
        strings, numbers = data_values(state.records)
        if (
            "figure" in state.expects
            and not (strings or numbers)
            and any(r.outcome == "ok" for r in state.records)
        ):
            # The tools answered and found nothing (no rows, a total over no rows): any figure is made up, a 0 too.
            stated = set(Grounding(answer).numbers) - set(Grounding(state.asked).numbers)
            if stated:
                raise SendBack(
                    "the tools found no data for this, so it has no figure: say that the data does not have it "
                    "(and what it does cover, if a result says so), stating no figure for it"
                )
            return
        # A figure a passage states ("a ten-year warranty") is data too, as digits or in words.
        numbers += [s for s in strings if len(s.split()) >= PROSE_WORDS and Grounding(s).numbers]
        # Checked before the figure: restating a figure cannot fix results that name nothing.
        if "name" in state.expects and numbers and not strings:
            # Figures with nothing they belong to (a maximum over all rows, a total) cannot say which one.
            raise SendBack(
                "the request asks which one (a name), and the results above hold figures only, naming nothing: "
                "call the tool again so that its result names each candidate (one row for each, e.g. grouped by "
                "what the question asks about), then name the one that answers"
            )
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
        overall_as_own = overall_figure_given_to_a_row(answer, state)
        if overall_as_own is not None:
            raise SendBack(overall_as_own)
        if not state.expects:
            return
        new_strings, new_numbers = beyond_the_question(strings, numbers, state.asked)
        if (new_strings or new_numbers) and not (
            names_something(answer, new_strings) or (new_numbers and cites_a_figure(answer, new_numbers))
        ):
            raise SendBack(
                "the answer only repeats words of the question and states nothing the data returned: answer it "
                "with what the data above says"
            )
