"""Demo data for echelon: a generated SQLite sales database and documents about the same fictional company.

Kept import-light: the generators are imported only when data is actually missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATABASE_NAME = "aurora_trail_gear.db"


@dataclass(frozen=True)
class DemoData:
    """Where the demo data lives: the sales database, the documents folder and a folder for produced files."""

    database: Path
    documents: Path
    output: Path


def demo_dir() -> Path:
    """The demo data directory: ``$ECHELON_DEMO_DIR`` if set, else the user data dir ``echelon/demo``."""
    override = os.environ.get("ECHELON_DEMO_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("echelon", appauthor=False)) / "demo"


def ensure_demo_data(directory: Path | None = None) -> DemoData:
    """Generate the demo database and documents under ``directory`` (default ``demo_dir()``) if missing.

    Existing data is left alone, so edits a user made to the demo documents survive.
    """
    root = Path(directory) if directory is not None else demo_dir()
    data = DemoData(database=root / DATABASE_NAME, documents=root / "documents", output=root / "output")
    root.mkdir(parents=True, exist_ok=True)
    if not data.database.is_file():
        from .company import generate_database

        generate_database(data.database)
    if not data.documents.is_dir() or not any(data.documents.iterdir()):
        from .documents import generate_documents

        generate_documents(data.documents)
    data.output.mkdir(parents=True, exist_ok=True)
    return data
