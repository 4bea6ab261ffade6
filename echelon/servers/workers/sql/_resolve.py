"""Turn the aggregate tool's arguments (names) into a ``Query``; every error names the argument and the choices."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence

from echelon.servers.workers.sql._aggregate import Condition, FilterBase, Order, Query
from echelon.servers.workers.sql._catalog import Catalog, Dimension, Measure, TableShape
from echelon.servers.workers.sql._periods import Period, parse_period


def _close(given: str, choices: Iterable[str]) -> str:
    found = difflib.get_close_matches(given, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {found[0]!r}?" if found else ""


def _unqualified(name: str) -> str:
    """``sum(sales.revenue)`` -> ``sum(revenue)``, ``product.category`` -> ``category``."""
    head, paren, rest = name.partition("(")
    if paren:
        return f"{head}({rest.rpartition('.')[2]}"
    return name.rpartition(".")[2]


def pick(given: str, choices: Sequence[str]) -> str | None:
    """The choice ``given`` names: exactly, in another case, or without its table when that is unambiguous."""
    text = given.strip()
    if text in choices:
        return text
    lowered = [c for c in choices if c.lower() == text.lower()]
    if len(lowered) == 1:
        return lowered[0]
    bare = [c for c in choices if _unqualified(c).lower() == text.lower()]
    return bare[0] if len(bare) == 1 else None


def measure_named(catalog: Catalog, given: str) -> Measure:
    names = list(catalog.measures)
    found = pick(given, names)
    if found is None:
        listing = ", ".join(names) if names else "(none: the database has no tables)"
        raise ValueError(
            f"measure {given!r} is not one of this database's measures.{_close(given, names)} Valid measures: {listing}"
        )
    return catalog.measures[found]


def _foreign_label(shape: TableShape, given: str) -> Dimension | None:
    """The name a foreign key points to, asked for by the key's column (region_id) or its table (regions)."""
    word = given.strip().lower()
    for dim in shape.dimensions.values():
        join = dim.join
        if join is None or dim.key == dim.select:
            continue  # only a foreign key's label dimension
        if word == join.from_column.lower() or word in (
            join.table.lower(),
            join.table.lower().removesuffix("s"),
        ):
            return dim
    return None


_BUCKETS = ("year", "quarter", "month")


def _bucket(shape: TableShape, given: str, date_column: str | None) -> Dimension | None:
    """A bucket named alone ("month") on a table with no column of that name: that bucket of the date column the
    call names, or of the table's only one. "Per month" means the month of the rows' dates."""
    word = given.strip().lower()
    if word not in _BUCKETS:
        return None
    column = pick(date_column, shape.date_columns) if date_column is not None else None
    if column is None and len(shape.date_columns) == 1:
        column = shape.date_columns[0]
    return shape.dimensions.get(f"{word}({column})") if column is not None else None


def _dimension_of(shape: TableShape, given: str, date_column: str | None = None) -> Dimension | None:
    found = pick(given, list(shape.dimensions))
    if found is not None:
        return shape.dimensions[found]
    return _foreign_label(shape, given) or _bucket(shape, given, date_column)


def _moved_to_source(
    catalog: Catalog, chosen: Measure, named: Sequence[str], date_column: str | None
) -> tuple[Measure, str | None, str] | None:
    """A sum over a view's summed column, asked per (or filtered on) something the view does not have, as the
    same sum over the table the view reads when that table has it all: the measure, the date column there, and a
    note saying so. None when the view has every name, or the sum cannot move (``TableShape.sums``)."""
    shape = catalog.tables[chosen.table]
    head, _, rest = chosen.name.partition("(")
    source_name = shape.sums.get(rest.removesuffix(")").rpartition(".")[2]) if head == "sum" else None
    missing = [n for n in named if _dimension_of(shape, n, date_column) is None]
    if source_name is None or not missing:
        return None
    source = catalog.measures[source_name]
    target = catalog.tables[source.table]
    if any(_dimension_of(target, n, date_column) is None for n in named):
        return None
    column = date_column
    if (
        date_column is not None
        and pick(date_column, target.date_columns) is None
        and len(target.date_columns) == 1
    ):
        column = target.date_columns[0]
    said = ", ".join(repr(n) for n in missing)
    note = (
        f"{chosen.name} was computed as {source.name}, the same total over the rows {shape.name} sums: {said} "
        f"{'is a dimension' if len(missing) == 1 else 'are dimensions'} of {source.table}, not of {shape.name}"
    )
    if column != date_column:
        note += f"; periods apply to {source.table}.{column}"
    return source, column, note


def dimension_named(
    catalog: Catalog, shape: TableShape, given: str, argument: str, date_column: str | None = None
) -> Dimension:
    """The dimension of ``shape`` that ``given`` names (see ``pick``), or that a foreign key's column or table
    name means, or a date bucket named alone (``_bucket``); else a ValueError listing the valid names and the
    tables that do have ``given``."""
    found = _dimension_of(shape, given, date_column)
    if found is not None:
        return found
    names = list(shape.dimensions)
    elsewhere = [t.name for t in catalog.tables.values() if pick(given, list(t.dimensions))]
    hint = f" ({given!r} is a dimension of {', '.join(elsewhere)}, not of {shape.name})" if elsewhere else ""
    raise ValueError(
        f"{argument} {given!r} is not a dimension of {shape.name}.{_close(given, names)}{hint} "
        f"Valid for {shape.name}: {', '.join(names)}"
    )


def _all_dates(
    shape: TableShape, column: str | None, span: Callable[[str, str], tuple[str, str] | None]
) -> str | None:
    """With no period, say which dates the values cover: a question about one year answered over every year is
    then visibly so, to the model and to whoever reads the result."""
    column = column or (shape.date_columns[0] if len(shape.date_columns) == 1 else None)
    bounds = span(shape.name, column) if column is not None else None
    if bounds is None:
        return None
    return f"the values are over every date: all rows of {shape.name}, whose {column} runs from {bounds[0]} to {bounds[1]}"


def _date_column(shape: TableShape, given: str | None) -> str:
    dates = shape.date_columns
    if given is not None:
        found = pick(given, dates)
        if found is None:
            listing = ", ".join(dates) if dates else "none"
            raise ValueError(
                f"date_column {given!r} is not a date column of {shape.name}; its date columns: {listing}"
            )
        return found
    if len(dates) == 1:
        return dates[0]
    if not dates:
        raise ValueError(
            f"{shape.name} has no date column (ISO text such as 2025-03-01), so period and compare_to cannot "
            "apply; leave them out, or filter on a column instead"
        )
    raise ValueError(
        f"{shape.name} has several date columns ({', '.join(dates)}): pass date_column to choose one"
    )


def _implied_comparison(
    shape: TableShape,
    date_column: str | None,
    period: str | None,
    order: str,
    span: Callable[[str, str], tuple[str, str] | None],
) -> tuple[str, str, str]:
    """The periods a change ranked with ``order`` but no compare_to means: a year ``period`` against the year
    before; a range of years, its last year against its first ("2024..2025": growth from 2024 to 2025); with no
    period, the last year the date column holds against the one before. ValueError otherwise."""
    fix = f"order {order!r} ranks the change between two periods: give period (the later) and compare_to (the earlier)"
    column = _date_column(shape, date_column)  # raises when there is none, or several and none chosen
    if period is not None:
        parsed = parse_period(period) if period.strip() else None
        if parsed is not None and parsed.kind == "years":
            first, later = parsed.params
            read = (
                f"period {period!r} with order {order!r} and no compare_to: {later} is compared with {first}"
            )
            return later, first, read
        if parsed is None or parsed.kind != "year":
            raise ValueError(fix)
        later = parsed.text
        read = f"no compare_to was given for order {order!r}: {later} is compared with {int(later) - 1}"
        return later, str(int(later) - 1), read
    bounds = span(shape.name, column)
    first, last = (bounds[0][:4], bounds[1][:4]) if bounds is not None else ("", "")
    if not (last.isdigit() and first < last):
        raise ValueError(fix)
    later = last
    read = (
        f"no periods were given for order {order!r}: {later}, the last year {shape.name}.{column} holds, is "
        f"compared with {int(later) - 1}"
    )
    return later, str(int(later) - 1), read


def _period(argument: str, text: str | None) -> Period | None:
    if text is None:
        return None
    try:
        return parse_period(text)
    except ValueError as exc:
        raise ValueError(f"{argument}: {exc}") from None


def resolve(
    catalog: Catalog,
    *,
    measure: str,
    group_by: Sequence[str],
    filters: Sequence[FilterBase],
    period: str | None,
    compare_to: str | None,
    date_column: str | None,
    order: Order | None,
    limit: int,
    span: Callable[[str, str], tuple[str, str] | None] = lambda _table, _column: None,
) -> Query:
    """Check every name against the catalog; ValueError says which argument is wrong and what would be valid.
    ``span(table, date_column)`` gives the first and last dates a date column holds: a change ranked with no
    periods compares its last year with the one before."""
    chosen = measure_named(catalog, measure)
    note: str | None = None
    moved = _moved_to_source(catalog, chosen, [*group_by, *(f.dimension for f in filters)], date_column)
    if moved is not None:
        chosen, date_column, note = moved
    shape = catalog.tables[chosen.table]
    dims = [dimension_named(catalog, shape, name, "group_by", date_column) for name in group_by]
    if len({d.name for d in dims}) != len(dims):
        raise ValueError(f"group_by names a dimension twice: {[d.name for d in dims]}")
    conditions: list[Condition] = []
    for item in filters:
        dim = dimension_named(catalog, shape, item.dimension, "filter dimension", date_column)
        if item.op == "in" and not (isinstance(item.value, list) and item.value):
            raise ValueError(f"filter on {dim.name!r}: op 'in' takes a non-empty list of values")
        if item.op != "in" and isinstance(item.value, list):
            raise ValueError(
                f"filter on {dim.name!r}: op {item.op!r} takes one value; use op 'in' for a list"
            )
        if item.op == "like" and not isinstance(item.value, str):
            raise ValueError(f"filter on {dim.name!r}: op 'like' takes a text pattern such as 'A%'")
        conditions.append(Condition(dim, item.op, item.value))
    if compare_to is not None and period is None:
        raise ValueError(
            "compare_to needs period: give the later period as period and the earlier as compare_to"
        )
    if order is not None and compare_to is None and order.startswith(("difference", "percent_change")):
        # A change was asked for with no periods to compare: read as the year before the later one (the last
        # year the data holds when no period was given), and said so. A small model does not act on an error
        # naming the fix: it repeats the call, or takes another order and reports totals as growth.
        period, compare_to, read = _implied_comparison(shape, date_column, period, order, span)
        note = "; ".join(n for n in (note, read) if n) or None
    column = _date_column(shape, date_column) if period is not None or date_column is not None else None
    if period is None:
        note = "; ".join(n for n in (note, _all_dates(shape, column, span)) if n) or None
    comparing = compare_to is not None
    return Query(
        measure=chosen,
        group_by=dims,
        filters=conditions,
        date_column=column,
        period=_period("period", period),
        compare_to=_period("compare_to", compare_to),
        order=order or ("percent_change_desc" if comparing else "value_desc"),
        limit=limit,
        note=note,
    )
