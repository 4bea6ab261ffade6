"""Oracles over the documents: a fact a document states, whether a document's figure agrees with the database,
and questions neither holds an answer to (checked: the oracle fails if the data does hold one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from ._demo import Demo, OracleError
from ._expected import Expected, ExpectedFigure, Spec, Unit
from ._numbers import figures


def _figure_in(text: str, label: str) -> tuple[float, float]:
    """The first figure in ``text`` (a match of a document) and the rounding it shows."""
    found = figures(text)
    if not found:
        raise OracleError(f"no figure for {label} in {text!r}")
    return found[0].value, found[0].half_unit


def document_fact(
    demo: Demo,
    document: str,
    pattern: str,
    what: Literal["figure", "names"],
    label: str = "the figure",
    unit: Unit = "number",
    sign: Literal["magnitude", "direction", "exact"] = "magnitude",
) -> Expected:
    """What ``document`` states where ``pattern`` matches: the figure of its first group, or the names of all its
    groups."""
    found = demo.find(document, pattern)
    if what == "names":
        names = [g.strip() for g in found.groups()]
        return Expected(shown=", ".join(names), answer=Spec(names=[[n] for n in names]))
    value, _half = _figure_in(found.group(1), label)
    figure = ExpectedFigure(label=label, values=[value], unit=unit, rel_tol=0.0, abs_tol=1e-9, sign=sign)
    return Expected(shown=f"{found.group(1)} ({demo.fill(document)})", answer=Spec(figures=[figure]))


def document_vs_data(
    demo: Demo,
    document: str,
    pattern: str,
    data: str,
    data_params: dict[str, Any],
    oracles: Mapping[str, Callable[..., Expected]],
) -> Expected:
    """Whether the figure or name ``document`` states (``pattern``'s first group) agrees with what the database
    gives (the ``data`` oracle, within the rounding the document shows). A right answer gives the verdict and
    the database's figure or name."""
    stated = demo.find(document, pattern).group(1).strip()
    truth = oracles[data](demo, **data_params)
    if truth.answer.figures:
        figure = truth.answer.figures[0]
        value, half = _figure_in(stated, "the document's figure")
        agrees = abs(value - figure.values[0]) <= half + 1e-9
        spec = Spec(figures=[figure], verdict="match" if agrees else "mismatch")
    else:
        names = truth.answer.names[0]
        agrees = stated.lower() in [n.lstrip("=").lower() for n in names]
        spec = Spec(names=[names], verdict="match" if agrees else "mismatch")
    verdict = "agrees" if agrees else "does not agree"
    shown = f"{demo.fill(document)} says {stated}; the database gives {truth.shown}: it {verdict}"
    return Expected(shown=shown, answer=spec)


def no_answer(
    demo: Demo,
    schema_terms: list[str],
    document_terms: list[str],
    known_sql: list[str],
    no_sales_in: str | None = None,
    min_figure: float = 100,
) -> Expected:
    """A question the data cannot answer: no table or column name holds ``schema_terms``, no document holds
    ``document_terms`` and (``no_sales_in``) no sale falls in that year; otherwise this raises, since the
    question would have an answer. ``known_sql`` gives the data's figures an answer may quote as context."""
    names = demo.schema_names()
    hits = [t for t in schema_terms if any(t.lower() in n for n in names)]
    text = demo.all_documents().lower()
    hits += [t for t in document_terms if demo.fill(t).lower() in text]
    if no_sales_in is not None:
        year = demo.year(no_sales_in)
        if demo.value("SELECT COUNT(*) FROM sales WHERE sale_date LIKE ?", f"{year}-%"):
            hits.append(f"sales in {year}")
    if hits:
        raise OracleError(f"the data does hold an answer: it has {', '.join(hits)}")
    known = [float(v) for sql in known_sql for row in demo.rows(demo.fill(sql)) for v in row if v is not None]
    spec = Spec(unknown=True, known_figures=known, min_figure=min_figure)
    return Expected(shown="not in the data: the answer says so and states no figure for it", answer=spec)
