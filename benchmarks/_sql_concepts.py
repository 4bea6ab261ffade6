"""The key concepts of a SQL query, read from its syntax tree: what a right explanation must mention.

For ``SELECT r.name, SUM(s.revenue) ... WHERE s.sale_date LIKE '2025%' GROUP BY r.name ORDER BY 2 DESC LIMIT 1``:
the aggregate (a total), what it measures (revenue), what it groups by (region), the order and limit (the
highest one), and the period filtered on (2025). Each concept comes with the everyday words that say it.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

_AGGREGATES: dict[type[exp.Expr], list[str]] = {
    exp.Sum: ["total", "sum", "summed", "add up", "adds up", "altogether"],
    exp.Avg: ["average", "mean"],
    exp.Count: ["count", "number of", "how many", "counts", "tally"],
    exp.Max: ["maximum", "highest", "largest", "max", "biggest"],
    exp.Min: ["minimum", "lowest", "smallest", "min"],
}
_RATIO = ["per", "each", "average", "ratio", "divided", "for every"]
_HIGHEST = ["highest", "most", "largest", "top", "biggest", "greatest", "maximum", "best", "leading", "first"]
_LOWEST = ["lowest", "least", "smallest", "bottom", "fewest", "minimum", "worst"]
# Everyday words for column names; a column not listed is said by its own name ("segment", "category").
_SYNONYMS = {
    "revenue": ["revenue", "sales", "income", "takings", "money"],
    "quantity": ["quantity", "units", "items", "pieces", "amount"],
    "order": ["order"],
    "customer": ["customer", "client", "account", "buyer"],
    "product": ["product", "item"],
    "region": ["region"],
}
_DATE_COLUMN = re.compile(r"(?:^|_)(?:date|day|time|month|year)(?:_|$)")
_YEAR = re.compile(r"\b(19|20)\d{2}\b")


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _column_words(column: exp.Column, tables: dict[str, str]) -> list[str]:
    """How to say a column: ``r.name`` of ``regions`` is a region, ``s.customer_id`` a customer, ``quantity``
    units."""
    name = column.name.lower()
    if name in ("name", "title", "label", "code"):
        table = tables.get(column.table.lower(), column.table.lower())
        name = _singular(table) if table else name
    name = re.sub(r"_(?:id|key|no|number)$", "", name)
    words = name.replace("_", " ")
    return _SYNONYMS.get(name, [words])


def _month_bucket(node: exp.Expr) -> bool:
    """``substr(date, 1, 7)`` or ``strftime('%Y-%m', date)``: the month of a date."""
    text = node.sql(dialect="sqlite").lower()
    return (("substr" in text or "substring" in text) and ", 7)" in text) or "%m" in text


def concepts(query: str) -> list[list[str]]:
    """The concepts a right explanation of ``query`` mentions, each as the words that say it. Raises ValueError
    for SQL sqlglot cannot read."""
    try:
        tree = sqlglot.parse_one(query, read="sqlite")
    except SqlglotError as exc:
        raise ValueError(f"not readable SQL: {exc}") from exc
    tables = {(t.alias or t.name).lower(): t.name.lower() for t in tree.find_all(exp.Table)}
    found: list[list[str]] = []

    def add(words: list[str]) -> None:
        if words not in found:
            found.append(words)

    for selected in tree.expressions if isinstance(tree, exp.Select) else []:
        ratio = next((d for d in selected.find_all(exp.Div) if d.find(exp.AggFunc)), None)
        if ratio is not None:
            # A ratio of aggregates is said as "X per Y": its parts' functions are how, not what.
            add(_RATIO)
            for side in (ratio.this, ratio.expression):
                column = side.find(exp.Column)
                if column is not None:
                    add(_column_words(column, tables))
            continue
        for aggregate in selected.find_all(exp.AggFunc):
            kind = next((words for cls, words in _AGGREGATES.items() if isinstance(aggregate, cls)), None)
            if kind is not None:
                add(kind)
            column = aggregate.find(exp.Column)
            if column is not None:
                add(_column_words(column, tables))
    group = tree.args.get("group")
    for key in group.expressions if group is not None else []:
        if _month_bucket(key):
            add(["month", "monthly"])
        elif isinstance(key, exp.Column):
            add(_column_words(key, tables))
        else:  # a position or an alias: the selected expression it names
            add(_selected_words(tree, key, tables))
    order, limit = tree.args.get("order"), tree.args.get("limit")
    if order is not None and limit is not None and order.expressions:
        add(_LOWEST if not order.expressions[0].args.get("desc") else _HIGHEST)
    where = tree.args.get("where")
    if where is not None:
        for year in sorted({m.group(0) for m in _YEAR.finditer(where.sql())}):
            add([year])
    return [words for words in found if words]


def _selected_words(tree: exp.Expr, key: exp.Expr, tables: dict[str, str]) -> list[str]:
    selected = tree.expressions if isinstance(tree, exp.Select) else []
    target: exp.Expr | None = None
    if isinstance(key, exp.Literal) and key.is_int and 0 < int(key.this) <= len(selected):
        target = selected[int(key.this) - 1]
    else:
        target = next((s for s in selected if s.alias_or_name == key.sql()), None)
    if target is None:
        return []
    if _month_bucket(target):
        return ["month", "monthly"]
    column = target.find(exp.Column)
    if column is not None and _DATE_COLUMN.search(column.name.lower()):
        return ["date", "day"]
    return _column_words(column, tables) if column is not None else []
