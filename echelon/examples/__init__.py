"""Demo data for echelon: a generated SQLite sales database and documents about the same fictional company.

The data covers the two full calendar years before today (``examples.company.demo_years``), so the demo's
"last year" always has data; ``ensure_demo_data`` regenerates it when the years move on.

Kept import-light: the generators are imported only when data is actually missing or out of date.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date

DATABASE_NAME = "aurora_trail_gear.db"
MARKER_NAME = "demo.json"  # {"years": [first, last]}: the years the data in the folder was generated for


@dataclass(frozen=True)
class DemoData:
    """Where the demo data lives: the sales database, the documents folder and a folder for produced files."""

    database: Path
    documents: Path
    output: Path


def demo_config_path() -> Path:
    """The demo hierarchy's config, shipped in the package (managers data, research, content)."""
    return Path(__file__).resolve().with_name("echelon.toml")


def demo_dir() -> Path:
    """The demo data directory: ``$ECHELON_DEMO_DIR`` if set, else ``demo`` in echelon's data directory, exactly
    as the demo config's ``${ECHELON_DEMO_DIR:-${ECHELON_DATA_DIR}/demo}`` says."""
    override = os.environ.get("ECHELON_DEMO_DIR")
    if override:
        return Path(override).expanduser()
    from echelon.servers.core.paths import data_dir

    return data_dir() / "demo"


def ensure_demo_data(directory: Path | None = None, *, today: date | None = None) -> DemoData:
    """Generate the demo database and documents under ``directory`` (default ``demo_dir()``) if missing/stale.

    The data covers the two full years before ``today`` (default: the current date); a marker file records the
    years it was generated for. Up-to-date data is left alone, so edits a user made to the demo documents
    survive. Data for other years is replaced: the database is regenerated (it is read-only, generated data),
    and the old documents folder is renamed to ``documents-<first>-<last>`` before new documents are written,
    so no edits are lost.
    """
    from .company import demo_years  # stdlib only; the document generator loads only when needed

    root = Path(directory) if directory is not None else demo_dir()
    data = DemoData(database=root / DATABASE_NAME, documents=root / "documents", output=root / "output")
    root.mkdir(parents=True, exist_ok=True)
    years = demo_years(today)
    marker = root / MARKER_NAME
    marked = _marker_years(marker)
    recorded = marked if marked is not None else _database_years(data.database)  # made before markers
    stale = recorded is not None and recorded != years
    has_documents = data.documents.is_dir() and any(data.documents.iterdir())
    if recorded is not None and stale and has_documents:
        data.documents.rename(_free_path(root / f"documents-{recorded[0]}-{recorded[1]}"))
        has_documents = False
    if stale or not data.database.is_file():
        from .company import generate_database

        generate_database(data.database, years=years)
    if not has_documents:
        from .documents import generate_documents

        generate_documents(data.documents, years=years)
    if marked != years:
        import json

        marker.write_text(json.dumps({"years": list(years)}) + "\n", encoding="utf-8")
    data.output.mkdir(parents=True, exist_ok=True)
    return data


def _marker_years(marker: Path) -> tuple[int, int] | None:
    """The years the marker file records, or ``None`` if it is missing or unreadable."""
    import json

    try:
        first, last = json.loads(marker.read_text(encoding="utf-8"))["years"]
        return (int(first), int(last))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _database_years(database: Path) -> tuple[int, int] | None:
    """The years an existing database covers, from its last sale date; ``None`` if there is none to read."""
    if not database.is_file():
        return None
    import sqlite3

    try:
        conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
        try:
            (latest,) = conn.execute("SELECT MAX(sale_date) FROM sales").fetchone()
        finally:
            conn.close()
        last = int(str(latest)[:4])
    except (sqlite3.Error, ValueError):
        return None
    return (last - 1, last)


def _free_path(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3`` ... if it is taken."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate
