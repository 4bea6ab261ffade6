"""A SQLite run database syncs at WAL checkpoints, not at every commit; other SQLite files keep their default."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from echelon.servers.core.runs import sync_at_checkpoints

FULL, NORMAL = 2, 1  # PRAGMA synchronous values


def synchronous(path: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())
    finally:
        engine.dispose()


def test_connections_to_the_run_database_sync_at_checkpoints_and_others_as_before(tmp_path: Path) -> None:
    runs, other = tmp_path / "runs.sqlite", tmp_path / "other.sqlite"
    assert synchronous(runs) == FULL
    sync_at_checkpoints(f"sqlite:///{runs}")
    assert synchronous(runs) == NORMAL
    assert synchronous(other) == FULL
    sync_at_checkpoints("postgresql://localhost/runs")  # not a file: nothing to change
    assert synchronous(other) == FULL
