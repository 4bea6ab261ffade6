"""The generated demo data, read as the oracles read it: plain SQL over the SQLite file and the documents' text.

Relative periods resolve from today's date as the product does: the data covers the two full years before today,
"last year" is the second of them.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from echelon.examples import demo_dir, ensure_demo_data
from echelon.examples.company import demo_years


class OracleError(ValueError):
    """The data cannot give a question's answer the way the question set says (its oracle needs fixing)."""


@dataclass(frozen=True)
class Demo:
    database: Path
    documents: Path
    years: tuple[int, int]
    today: date

    @classmethod
    def load(cls, directory: Path | None = None, today: date | None = None) -> Demo:
        """The demo data under ``directory`` (default ``demo_dir()``), generated if missing or out of date."""
        today = today or date.today()
        data = ensure_demo_data(directory or demo_dir(), today=today)
        return cls(database=data.database, documents=data.documents, years=demo_years(today), today=today)

    @property
    def first(self) -> int:
        return self.years[0]

    @property
    def last(self) -> int:
        return self.years[1]

    def year(self, which: str | int) -> int:
        """``last`` (last year), ``first`` (the year before it), ``before`` (the year before the data), or a
        year."""
        named = {"last": self.last, "first": self.first, "before": self.first - 1}
        if isinstance(which, int):
            return which
        if which not in named:
            raise OracleError(f"unknown year {which!r}: use last, first, before or a number")
        return named[which]

    def fill(self, template: str) -> str:
        """``template`` with ``{last}``, ``{first}`` and ``{before}`` replaced by years (nothing else is touched,
        so regular expressions keep their braces)."""
        for key in ("last", "first", "before"):
            template = template.replace("{" + key + "}", str(self.year(key)))
        return template

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"{self.database.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def value(self, sql: str, *params: Any) -> Any:
        rows = self.rows(sql, *params)
        if len(rows) != 1 or len(rows[0]) != 1:
            raise OracleError(f"expected one value from {sql!r}, got {rows!r}")
        return rows[0][0]

    def document(self, name: str) -> str:
        """The text of one document (``name`` may hold ``{last}``)."""
        path = self.documents / self.fill(name)
        if not path.is_file():
            raise OracleError(f"no document {path.name} in {self.documents}")
        return path.read_text(encoding="utf-8")

    def find(self, name: str, pattern: str) -> re.Match[str]:
        """The first match of ``pattern`` (``{last}`` etc. filled) in document ``name``."""
        found = re.search(self.fill(pattern), self.document(name))
        if found is None:
            raise OracleError(f"{self.fill(name)} has nothing matching {self.fill(pattern)!r}")
        return found

    def schema_names(self) -> list[str]:
        """Every table and column name of the database, lower-case."""
        tables = [t for (t,) in self.rows("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
        columns = [c[1] for t in tables for c in self.rows(f"PRAGMA table_info('{t}')")]
        return [n.lower() for n in [*tables, *columns]]

    def all_documents(self) -> str:
        return "\n".join(
            p.read_text(encoding="utf-8") for p in sorted(self.documents.iterdir()) if p.is_file()
        )
