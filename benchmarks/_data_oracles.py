"""Oracles over the sales database: rankings, totals, changes, averages and peaks, each computed with plain SQL.

Parameters name what a question is about (an entity, a measure, a period, a filter such as a region): they are
the question's inputs; the answers come from the data.
"""

from __future__ import annotations

import calendar
from typing import Literal

from ._demo import Demo, OracleError
from ._expected import Expected, ExpectedFigure, Spec, Unit

Entity = Literal["region", "product", "category", "customer", "segment"]
Measure = Literal["revenue", "units", "orders"]

_JOINS: dict[Entity, tuple[str, str]] = {
    "region": ("JOIN regions r ON r.region_id = s.region_id", "r.name"),
    "product": ("JOIN products p ON p.product_id = s.product_id", "p.name"),
    "category": ("JOIN products p ON p.product_id = s.product_id", "p.category"),
    "customer": ("JOIN customers c ON c.customer_id = s.customer_id", "c.name"),
    "segment": ("JOIN customers c ON c.customer_id = s.customer_id", "c.segment"),
}
_MEASURES: dict[Measure, str] = {
    "revenue": "SUM(s.revenue)",
    "units": "SUM(s.quantity)",
    "orders": "COUNT(DISTINCT s.order_id)",
}
_UNITS: dict[Measure, Unit] = {"revenue": "money", "units": "number", "orders": "number"}
_WORDS: dict[Measure, str] = {"revenue": "revenue", "units": "units sold", "orders": "orders"}


def _where(
    demo: Demo, year: str | int | None, quarter: int | None, filters: dict[str, str] | None
) -> tuple[str, str, list[object]]:
    """Joins, a WHERE clause and its parameters for a period and filters (``{"region": "Southwest"}``)."""
    joins: list[str] = []
    conditions: list[str] = []
    params: list[object] = []
    if year is not None and year != "both":
        y = demo.year(year)
        if quarter is None:
            conditions.append("s.sale_date >= ? AND s.sale_date < ?")
            params += [f"{y}-01-01", f"{y + 1}-01-01"]
        else:
            start, end = 3 * quarter - 2, 3 * quarter + 1
            conditions.append("s.sale_date >= ? AND s.sale_date < ?")
            params += [f"{y}-{start:02d}-01", f"{y + 1}-01-01" if end > 12 else f"{y}-{end:02d}-01"]
    for entity, value in (filters or {}).items():
        known = {str(k): v for k, v in _JOINS.items()}
        if entity not in known:
            raise OracleError(f"unknown filter {entity!r}: use one of {', '.join(known)}")
        join, column = known[entity]
        if join not in joins:
            joins.append(join)
        conditions.append(f"{column} = ?")
        params.append(value)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    return " ".join(joins), where, params


def measure_of(
    demo: Demo,
    what: Measure,
    year: str | int | None = None,
    *,
    quarter: int | None = None,
    filters: dict[str, str] | None = None,
) -> float:
    """One measure over a period, filtered."""
    joins, where, params = _where(demo, year, quarter, filters)
    value = demo.value(f"SELECT {_MEASURES[what]} FROM sales s {joins} {where}", *params)
    if value is None:
        raise OracleError(f"no sales for {what} in {year} {filters or ''}")
    return float(value)


def _by(
    demo: Demo, entity: Entity, what: Measure, year: str | int | None, filters: dict[str, str] | None = None
) -> list[tuple[str, float]]:
    join, column = _JOINS[entity]
    joins, where, params = _where(demo, year, None, filters)
    joins = joins if join in joins else f"{join} {joins}"
    rows = demo.rows(f"SELECT {column}, {_MEASURES[what]} FROM sales s {joins} {where} GROUP BY 1", *params)
    return [(str(name), float(v)) for name, v in rows]


def _names(demo: Demo, entity: Entity) -> list[list[str]]:
    table, column = {
        "region": ("regions", "name"),
        "product": ("products", "name"),
        "category": ("products", "category"),
        "customer": ("customers", "name"),
        "segment": ("customers", "segment"),
    }[entity]
    return [[str(n)] for (n,) in demo.rows(f"SELECT DISTINCT {column} FROM {table} ORDER BY 1")]


def _pick(rows: list[tuple[str, float]], order: str, n: int = 1) -> list[tuple[str, float]]:
    ranked = sorted(rows, key=lambda r: r[1], reverse=order == "max")
    if len(ranked) > n and ranked[n - 1][1] == ranked[n][1]:
        raise OracleError(f"a tie at place {n}: {ranked[n - 1]} and {ranked[n]}")
    return ranked[:n]


def ranking(
    demo: Demo, entity: Entity, measure: Measure, year: str = "last", order: str = "max", n: int = 1
) -> Expected:
    """The entity with the largest (``max``) or smallest (``min``) measure; with ``n`` > 1, the top ``n``, all of
    which must be named."""
    top = _pick(_by(demo, entity, measure, year), order, n)
    spec = Spec(names=[[name] for name, _ in top], ranked=_names(demo, entity) if n == 1 else None)
    shown = ", ".join(f"{name} ({value:,.2f})" for name, value in top)
    return Expected(shown=shown, answer=spec)


def _figure(label: str, value: float, unit: Unit, **extra: object) -> ExpectedFigure:
    return ExpectedFigure.model_validate({"label": label, "values": [value], "unit": unit, **extra})


def total(
    demo: Demo,
    measure: Measure,
    year: str = "last",
    filters: dict[str, str] | None = None,
    each_year: bool = False,
) -> Expected:
    """A total over a period (``year = "both"``: the whole data), or one per year with ``each_year``."""
    years = [demo.first, demo.last] if each_year else [year]
    figures = [
        _figure(
            f"{_WORDS[measure]} {'over both years' if y == 'both' else demo.year(y)}",
            measure_of(demo, measure, y, filters=filters),
            _UNITS[measure],
        )
        for y in years
    ]
    return Expected(
        shown="; ".join(f"{f.label}: {f.values[0]:,.2f}" for f in figures), answer=Spec(figures=figures)
    )


def change(
    demo: Demo,
    measure: Measure,
    filters: dict[str, str] | None = None,
    quarter: int | None = None,
    show: Literal["percent", "difference", "either"] = "percent",
) -> Expected:
    """The change of a measure from the first year to the last (a quarter of each, if given): as a percent, a
    difference, or either one."""
    before = measure_of(demo, measure, "first", quarter=quarter, filters=filters)
    after = measure_of(demo, measure, "last", quarter=quarter, filters=filters)
    percent = (after / before - 1.0) * 100.0
    parts: list[ExpectedFigure] = []
    values = {"percent": [percent], "difference": [after - before], "either": [percent, after - before]}[show]
    unit: Unit = "percent" if show == "percent" else ("number" if show == "either" else _UNITS[measure])
    parts.append(
        ExpectedFigure(
            label=f"the change in {_WORDS[measure]}",
            values=values,
            unit=unit,
            abs_tol=0.05 if show != "difference" else 0.0,
            sign="direction",
        )
    )
    shown = f"{percent:+.2f}% or {after - before:+,.2f} ({before:,.2f} -> {after:,.2f})"
    if show == "percent":
        shown = f"{percent:+.2f}% ({before:,.2f} -> {after:,.2f})"
    elif show == "difference":
        shown = f"{after - before:+,.2f} ({before:,.2f} -> {after:,.2f}, {percent:+.2f}%)"
    return Expected(shown=shown, answer=Spec(figures=parts))


def average(
    demo: Demo,
    measure: Measure,
    per: Literal["order", "customer", "month"],
    year: str = "last",
) -> Expected:
    """A measure divided by the number of orders, of customers who bought, or of months in the period."""
    denominators = {
        "order": "COUNT(DISTINCT s.order_id)",
        "customer": "COUNT(DISTINCT s.customer_id)",
        "month": "COUNT(DISTINCT substr(s.sale_date, 1, 7))",
    }
    _joins, where, params = _where(demo, year, None, None)
    value = demo.value(
        f"SELECT {_MEASURES[measure]} * 1.0 / {denominators[per]} FROM sales s {where}", *params
    )
    figure = _figure(f"{_WORDS[measure]} per {per}", float(value), _UNITS[measure], rel_tol=0.002)
    return Expected(shown=f"{float(value):,.2f} per {per}", answer=Spec(figures=[figure]))


def month_spellings(year: int, month: int, *, with_year: bool) -> list[str]:
    """How an answer may name a month: "July", "Jul", "2025-07"; with the year: "July 2025", "07/2025"."""
    name, short = calendar.month_name[month], calendar.month_abbr[month]
    iso = f"{year}-{month:02d}"
    if with_year:
        return [f"{name} {year}", f"{short} {year}", iso, f"{month:02d}/{year}", f"{year} {name}"]
    # "May" is also a verb and "Mar"/"Jun" are words: the short forms and May count only capitalised.
    return [f"={name}" if name == "May" else name, f"={short}", iso]


def peak_month(
    demo: Demo,
    measure: Measure,
    year: str = "last",
    order: str = "max",
    filters: dict[str, str] | None = None,
) -> Expected:
    """The month with the highest (``max``) or lowest (``min``) measure in a year, or across both years
    (``year = "both"``: the answer names the month and its year)."""
    joins, where, params = _where(demo, year, None, filters)
    rows = demo.rows(
        f"SELECT substr(s.sale_date, 1, 7), {_MEASURES[measure]} FROM sales s {joins} {where} GROUP BY 1",
        *params,
    )
    ((month, value),) = _pick([(str(m), float(v)) for m, v in rows], order)
    both = year == "both"
    candidates = [month_spellings(int(m[:4]), int(m[5:]), with_year=both) for m, _ in rows]
    chosen = month_spellings(int(month[:4]), int(month[5:]), with_year=both)
    shown = f"{calendar.month_name[int(month[5:])]} {month[:4]} ({value:,.2f})"
    return Expected(shown=shown, answer=Spec(names=[chosen], ranked=candidates))


def growth_ranking(demo: Demo, entity: Entity, measure: Measure, order: str = "max") -> Expected:
    """The entity whose measure grew most (``max``) or least (``min``) in percent from the first year to the
    last."""
    before = dict(_by(demo, entity, measure, "first"))
    after = dict(_by(demo, entity, measure, "last"))
    growth = [(name, (after[name] / before[name] - 1.0) * 100.0) for name in before if name in after]
    ((name, value),) = _pick(growth, order)
    return Expected(shown=f"{name} ({value:+.2f}%)", answer=Spec(names=[[name]], ranked=_names(demo, entity)))
