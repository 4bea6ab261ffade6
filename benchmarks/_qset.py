"""The question set: ``question_set.toml`` read and validated, and each question's expected answer computed by its
oracle from the generated demo data (never typed in).

The set was split once into a ``dev`` half (look at it while working) and a ``heldout`` half (run it only to
report; judge changes on it). The split is stored in the file: within each kind, questions ordered by the sha256
of their id, the first half ``dev`` (``split_halves`` recomputes it, and a test checks the file against it).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._calc_oracles import cagr, compound, convert_time, percent_of, roots, sql_explain
from ._data_oracles import average, change, growth_ranking, peak_month, ranking, total
from ._demo import Demo, OracleError
from ._expected import Expected, Spec
from ._text_oracles import document_fact, document_vs_data, no_answer

QUESTION_SET = Path(__file__).with_name("question_set.toml")

Kind = Literal[
    "ranking",
    "total",
    "change",
    "average",
    "peak",
    "doc_fact",
    "doc_vs_data",
    "arithmetic",
    "timezone",
    "sql_explain",
    "deck",
    "no_answer",
]
KINDS: tuple[Kind, ...] = Kind.__args__  # type: ignore[attr-defined]
Half = Literal["dev", "heldout"]
Worker = Literal["sql", "math", "docs", "time", "slides"]

ORACLES: dict[str, Callable[..., Expected]] = {
    "ranking": ranking,
    "growth_ranking": growth_ranking,
    "total": total,
    "change": change,
    "average": average,
    "peak_month": peak_month,
    "document_fact": document_fact,
    "no_answer": no_answer,
    "percent_of": percent_of,
    "compound": compound,
    "cagr": cagr,
    "roots": roots,
    "convert_time": convert_time,
    "sql_explain": sql_explain,
}


def deck(demo: Demo, of: str, params: dict[str, Any], answer_names: bool = False) -> Expected:
    """A deck whose text holds what oracle ``of`` expects (every name and figure: a deck may list the others too);
    with ``answer_names`` the answer itself must also pick the names."""
    inner = ORACLES[of](demo, **params)
    answer = Spec(names=inner.answer.names, ranked=inner.answer.ranked) if answer_names else Spec()
    content = inner.answer.model_copy(update={"ranked": None})
    return Expected(shown=f"a .pptx holding {inner.shown}", answer=answer, deck=content)


ORACLES["deck"] = deck
ORACLES["document_vs_data"] = partial(document_vs_data, oracles=ORACLES)


class Question(BaseModel):
    """One request of the set, as an everyday user would put it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    kind: Kind
    workers: list[Worker] = Field(min_length=1, description="The demo workers a right answer needs")
    half: Half
    text: str = Field(description="The request; {last}, {first}, {before} are years, {query} is params.query")
    oracle: str
    params: dict[str, Any] = Field(default_factory=dict)

    def request(self, demo: Demo) -> str:
        text = self.text.replace("{query}", str(self.params.get("query", "")))
        return demo.fill(text)

    def expected(self, demo: Demo) -> Expected:
        """The expected answer, computed from the data; OracleError naming the question when it cannot be."""
        params = {k: demo.fill(v) if isinstance(v, str) else v for k, v in self.params.items()}
        try:
            return ORACLES[self.oracle](demo, **params)
        except (OracleError, TypeError, KeyError, ValueError) as exc:
            raise OracleError(f"question {self.id}: oracle {self.oracle}: {exc}") from exc


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: list[Question]


def load_questions(path: Path = QUESTION_SET) -> list[Question]:
    """The questions of ``path``, validated: unique ids, known oracles. ValueError naming the problem."""
    try:
        questions = _File.model_validate(tomllib.loads(path.read_text(encoding="utf-8"))).question
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise ValueError(f"{path}: question id {q.id!r} is used twice")
        if q.oracle not in ORACLES:
            raise ValueError(
                f"{path}: question {q.id}: unknown oracle {q.oracle!r} (known: {', '.join(ORACLES)})"
            )
        seen.add(q.id)
    return questions


def split_halves(questions: Iterable[Question]) -> dict[str, Half]:
    """The split rule: within each kind, by sha256 of the id, the first half (rounded up) ``dev``."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for q in questions:
        by_kind[q.kind].append(q.id)
    halves: dict[str, Half] = {}
    for ids in by_kind.values():
        ordered = sorted(ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())
        for n, qid in enumerate(ordered):
            halves[qid] = "dev" if n < (len(ordered) + 1) // 2 else "heldout"
    return halves
