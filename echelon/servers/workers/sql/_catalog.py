"""What the aggregate tool offers, derived from the schema: measures, dimensions and date columns per table.

Read once when the server is built, so the names can be JSON-schema enums (a small model under a grammar can then
only produce valid names). Nothing here knows any particular database: measures are the row count of every table
(but not of a view whose rows are groups), sum/avg/min/max of numeric columns and count-distinct of key columns;
dimensions are a table's columns, the rows its foreign keys reach (named by what they point to) and
year/quarter/month buckets of its date columns. Tables come first, those with the most foreign keys (the facts:
sales, events, order lines) before the rest, so the enum reads in the order the measures are most often meant.

A key column that names a thing with no table of its own (``order_id`` in a table of order lines) gets its
count-distinct under the thing's name, ``count(orders)``: "how many orders" then reads as that count rather than
``count(order_lines)``, which counts lines.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from sqlglot import exp

from echelon.servers.workers.sql._db import Deadline, QueryTimeout, ReadOnlyDatabase, quote_identifier
from echelon.servers.workers.sql._lineage import groups_rows, summed_columns
from echelon.servers.workers.sql._models import Cell

LABEL_COLUMNS = ("name", "title", "label")
SAMPLE_ROWS = 50
_ISO_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-\d{2}([ T].*)?)?$")
_NUMERIC_TYPES = ("INT", "REAL", "FLOA", "DOUB", "NUM", "DEC")
ROW_ALIAS = "t"  # the measure's table in every generated query


@dataclass(frozen=True)
class Join:
    """A LEFT JOIN from the measure's table to a table one of its foreign keys points to."""

    alias: str
    table: str
    to_column: str
    from_column: str

    def sql(self) -> str:
        return (
            f" LEFT JOIN {quote_identifier(self.table)} AS {self.alias}"
            f" ON {self.alias}.{quote_identifier(self.to_column)} = {ROW_ALIAS}.{quote_identifier(self.from_column)}"
        )


@dataclass(frozen=True)
class Dimension:
    """Something to group or filter by: ``select`` is the value shown, ``key`` what rows are grouped on (a foreign
    key's own column when the value shown is the name it points to, so two rows with one name stay apart)."""

    name: str
    select: str
    key: str
    join: Join | None = None


@dataclass(frozen=True)
class Measure:
    """An aggregate over one table; ``expression`` refers to the table's columns as ``t."column"``."""

    name: str
    table: str
    expression: exp.Expr
    definition: str
    description: str | None = None


@dataclass
class TableShape:
    name: str
    columns: list[str]
    date_columns: list[str]
    dimensions: dict[str, Dimension] = field(default_factory=dict[str, Dimension])
    sums: dict[str, str] = field(default_factory=dict[str, str])
    """A view's columns that are sums over the rows of one table, by the measure of that table with the same
    total (``revenue`` -> ``sum(sales.revenue)``; see ``_lineage``)."""


@dataclass
class Catalog:
    tables: dict[str, TableShape] = field(default_factory=dict[str, TableShape])
    measures: dict[str, Measure] = field(default_factory=dict[str, Measure])

    def dimension_names(self) -> list[str]:
        """Every dimension name of every table, for the group_by enum (each call checks its own table's)."""
        return sorted({name for shape in self.tables.values() for name in shape.dimensions})

    def date_column_names(self) -> list[str]:
        return sorted({name for shape in self.tables.values() for name in shape.date_columns})


@dataclass(frozen=True)
class _Column:
    name: str
    declared: str
    primary_key: bool
    numeric: bool
    date: bool

    def is_key(self, foreign: set[str]) -> bool:
        lowered = self.name.lower()
        return self.primary_key or self.name in foreign or lowered == "id" or lowered.endswith("_id")


def column_ref(name: str) -> exp.Column:
    """``t."name"``: a column of the measure's table in generated SQL."""
    return exp.Column(this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(ROW_ALIAS))


def qualified(expression: exp.Expr, table: str) -> str:
    """``expression`` for people: columns as ``table.column`` instead of the query's alias."""

    def rename(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.table == ROW_ALIAS:
            return exp.column(node.name, table=table)
        return node

    return expression.transform(rename).sql(dialect="sqlite")


def label_column(columns: list[str]) -> str | None:
    """The column that names a row: name/title/label, else one ending in _name or _title."""
    by_lower = {c.lower(): c for c in columns}
    for word in LABEL_COLUMNS:
        if word in by_lower:
            return by_lower[word]
    return next((c for c in columns if c.lower().endswith(("_name", "_title"))), None)


def _samples(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, table: str, names: list[str]
) -> list[list[Cell]]:
    """A few rows of ``table``, to tell numbers and ISO dates in columns without a declared type (views)."""
    if not names:
        return []
    columns = ", ".join(quote_identifier(n) for n in names)
    sql = f"SELECT {columns} FROM {quote_identifier(table)} LIMIT {SAMPLE_ROWS}"
    try:
        return db.fetch(conn, sql, (), SAMPLE_ROWS, Deadline(min(db.timeout_seconds, 2.0))).rows
    except (sqlite3.Error, QueryTimeout):  # a slow or broken view: judged by its declared types alone
        return []


def _columns(db: ReadOnlyDatabase, conn: sqlite3.Connection, table: str) -> list[_Column]:
    """Columns with what the declared type and a few rows say: numeric, ISO-date text, or neither."""
    info = db.columns_of(conn, table)
    names = [str(r[1]) for r in info]
    rows = _samples(db, conn, table, names)
    found: list[_Column] = []
    for index, row in enumerate(info):
        declared = str(row[2] or "").upper()
        values = [r[index] for r in rows if r[index] is not None]
        iso = bool(values) and all(isinstance(v, str) and _ISO_DATE.match(v) for v in values)
        date = iso or (not values and ("DATE" in declared or "TIME" in declared))
        typed_numeric = any(word in declared for word in _NUMERIC_TYPES) and not date
        sampled_numeric = not declared and bool(values) and all(isinstance(v, int | float) for v in values)
        found.append(_Column(str(row[1]), declared, bool(row[5]), typed_numeric or sampled_numeric, date))
    return found


def _single_column_keys(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, table: str
) -> list[tuple[str, str, str]]:
    """(from column, referenced table, referenced column) of each one-column foreign key."""
    by_id: dict[int, list[tuple[str, str, str | None]]] = {}
    for fk_id, _seq, ref_table, from_col, to_col, *_ in db.foreign_keys_of(conn, table):
        by_id.setdefault(int(fk_id), []).append((str(from_col), str(ref_table), to_col))
    keys: list[tuple[str, str, str]] = []
    for parts in by_id.values():
        if len(parts) != 1:
            continue
        from_col, ref_table, to_col = parts[0]
        if to_col is None:  # refers to the primary key
            pk = [str(r[1]) for r in db.columns_of(conn, ref_table) if r[5]]
            if len(pk) != 1:
                continue
            to_col = pk[0]
        keys.append((from_col, ref_table, str(to_col)))
    return keys


def _stem(column: str) -> str:
    """What a foreign key column points to, by its name: region_id -> region."""
    stem = re.sub(r"_?id$", "", column, flags=re.IGNORECASE)
    return stem or column


def _buckets(column: str) -> dict[str, Dimension]:
    """year(c), quarter(c) and month(c) of an ISO date column, as 'YYYY', 'YYYY-Qn' and 'YYYY-MM' (the forms
    periods take, so a value read from a row can be passed back as a period)."""
    ref = f"{ROW_ALIAS}.{quote_identifier(column)}"
    sql = {
        "year": f"substr({ref}, 1, 4)",
        "quarter": f"substr({ref}, 1, 4) || '-Q' || ((CAST(substr({ref}, 6, 2) AS INTEGER) + 2) / 3)",
        "month": f"substr({ref}, 1, 7)",
    }
    return {f"{b}({column})": Dimension(f"{b}({column})", expr, expr) for b, expr in sql.items()}


def _dimensions(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, table: str, columns: list[_Column]
) -> dict[str, Dimension]:
    """A table's own columns (a labelled foreign key replaced by the name it points to), its date buckets, and
    the columns of each table a foreign key reaches as ``key.column``."""
    keys = _single_column_keys(db, conn, table)
    labels = {from_col: label_column(db.column_names(conn, ref)) for from_col, ref, _to in keys}
    dims: dict[str, Dimension] = {}
    for col in columns:
        if labels.get(col.name) is None and col.declared != "BLOB":
            ref = f"{ROW_ALIAS}.{quote_identifier(col.name)}"
            dims[col.name] = Dimension(col.name, ref, ref)
    for col in columns:
        if col.date:
            for name, dim in _buckets(col.name).items():
                dims.setdefault(name, dim)
    for index, (from_col, ref_table, to_col) in enumerate(keys, start=1):
        join = Join(f"j{index}", ref_table, to_col, from_col)
        stem, label = _stem(from_col), labels[from_col]
        if label is not None:
            # Grouped on the key, shown by the name: two rows with one name stay two groups.
            name = stem if stem not in dims else f"{stem}.{label}"
            key = f"{ROW_ALIAS}.{quote_identifier(from_col)}"
            dims.setdefault(name, Dimension(name, f"{join.alias}.{quote_identifier(label)}", key, join))
        reached_keys = {k[0] for k in _single_column_keys(db, conn, ref_table)}  # one hop only
        for col in _columns(db, conn, ref_table):
            if col.primary_key or col.name in (label, *reached_keys) or col.declared == "BLOB":
                continue
            ref = f"{join.alias}.{quote_identifier(col.name)}"
            dims.setdefault(f"{stem}.{col.name}", Dimension(f"{stem}.{col.name}", ref, ref, join))
    return dims


def _id_count_description(column: str) -> str | None:
    """What counting the different values of an id column counts, read from its name (``order_id``: each order
    once): a table of order lines holds one order many times, and "how many orders" means this count, not rows."""
    stem = column[:-3] if column.lower().endswith("_id") else ""
    return f"counts each {stem.replace('_', ' ')} once" if stem else None


def plural(word: str) -> str:
    """An English plural of a name's last word, as column stems read (order -> orders, category -> categories)."""
    lowered = word.lower()
    if lowered.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if lowered.endswith("y") and lowered[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    return word + "s"


def _things(objects: dict[str, tuple[list[_Column], set[str]]]) -> dict[tuple[str, str], str]:
    """(table, column) -> ``count(<things>)`` for each key column that names a thing no table holds: not a
    primary or foreign key, named ``<thing>_id``, its plural (and the thing) no table's name, and no other such
    column with the same plural (then both keep ``count_distinct(table.column)``)."""
    taken = {name.lower() for name in objects}
    found: dict[tuple[str, str], str] = {}
    for table, (columns, foreign) in objects.items():
        for col in columns:
            stem = col.name[:-3] if col.name.lower().endswith("_id") else ""
            if not stem or col.primary_key or col.name in foreign:
                continue
            things = plural(stem)
            if things.lower() not in taken and stem.lower() not in taken:
                found[(table, col.name)] = f"count({things})"
    names = list(found.values())
    return {key: name for key, name in found.items() if names.count(name) == 1}


def _derived_measures(
    table: str, columns: list[_Column], foreign: set[str], things: dict[tuple[str, str], str], *, rows: bool
) -> list[Measure]:
    """The measures of one table; ``rows``: whether its row count is one (not for a view of groups)."""
    measures = [Measure(f"count({table})", table, exp.Count(this=exp.Star()), "COUNT(*)")] if rows else []
    primary = [c for c in columns if c.primary_key]
    for col in columns:
        ref = column_ref(col.name)
        if col.is_key(foreign):
            if len(primary) == 1 and col.primary_key:
                continue  # the same as the row count
            expression = exp.Count(this=exp.Distinct(expressions=[ref]))
            measure = Measure(
                things.get((table, col.name), f"count_distinct({table}.{col.name})"),
                table,
                expression,
                qualified(expression, table),
                _id_count_description(col.name),
            )
            if (table, col.name) in things:
                measures.insert(0, measure)  # before the row count: what "how many <things>" means
            else:
                measures.append(measure)
        elif col.numeric:
            functions: dict[str, type[exp.AggFunc]] = {
                "sum": exp.Sum,
                "avg": exp.Avg,
                "min": exp.Min,
                "max": exp.Max,
            }
            for word, function in functions.items():
                expression = function(this=ref.copy())
                measures.append(
                    Measure(f"{word}({table}.{col.name})", table, expression, qualified(expression, table))
                )
    return measures


def build_catalog(db: ReadOnlyDatabase, conn: sqlite3.Connection) -> Catalog:
    """The catalog of the database as it is now; business measures are added by ``_measures``."""
    catalog = Catalog()
    listed = db.objects(conn)
    read = {
        obj.name: (_columns(db, conn, obj.name), {k[0] for k in _single_column_keys(db, conn, obj.name)})
        for obj in listed
    }
    objects = sorted(listed, key=lambda o: (o.kind != "table", -len(read[o.name][1]), o.name))
    foreign_keys = {name: foreign for name, (_, foreign) in read.items()}
    things = _things(read)
    for obj in objects:
        columns, foreign = read[obj.name]
        catalog.tables[obj.name] = TableShape(
            obj.name,
            [c.name for c in columns],
            [c.name for c in columns if c.date],
            _dimensions(db, conn, obj.name, columns),
        )
        grouped = obj.kind == "view" and bool(obj.sql) and groups_rows(obj.sql or "")
        for measure in _derived_measures(obj.name, columns, foreign, things, rows=not grouped):
            catalog.measures.setdefault(measure.name, measure)
    for obj in objects:
        if obj.kind == "view" and obj.sql:
            catalog.tables[obj.name].sums = summed_columns(obj.sql, foreign_keys, catalog.measures)
    return catalog
