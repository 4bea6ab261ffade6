"""Runs: every delegation is a durable DBOS workflow, and its record can be read later by anyone with the database.

The orchestrator runs delegations as workflows (``servers/orchestrator/_durable.py``); this package is what every
reader shares: where the database is (``[runs] database``, ``ECHELON_RUNS_DATABASE``, else a SQLite file in the
user's state directory), the typed records (``RunSummary``, ``RunRecord``), and ``RunReader``, which reads them
through a ``DBOSClient`` without starting a DBOS runtime (the CLI and the UI use it). DBOS is imported lazily: its
import costs most of a second.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..paths import state_dir

ENV_DATABASE = "ECHELON_RUNS_DATABASE"
WORKFLOW_NAME = "echelon.delegation"
EVENTS_STREAM = "events"

RunStatus = Literal["queued", "running", "ok", "partial", "failed", "cancelled"]


class RunsSettings(BaseModel):
    """``[runs]`` in ``echelon.toml``."""

    model_config = ConfigDict(extra="forbid")

    database: str | None = Field(
        default=None,
        description="sqlite:///path or postgresql://user:pass@host/db (several orchestrators share runs there); "
        f"default: ${ENV_DATABASE}, else runs.sqlite in the user's state directory",
    )
    concurrency: int = Field(default=2, ge=1, le=64, description="Delegations one orchestrator runs at once")
    queue: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{1,100}$",
        description="The queue this orchestrator takes runs from, and recovers stopped orchestrators' runs of; "
        "default: one per hierarchy (its managers and their workers), so orchestrators of different configs "
        "sharing one database never run each other's requests",
    )


def database_url(settings: RunsSettings | None = None) -> str:
    """The run database: ``$ECHELON_RUNS_DATABASE``, else the config's, else a SQLite file (its folder made)."""
    chosen = os.environ.get(ENV_DATABASE) or (settings.database if settings else None)
    if chosen:
        return chosen
    folder = state_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'runs.sqlite'}"


def protect(url: str) -> None:
    """Make a SQLite run database (and its journal files) readable by its owner only: records hold requests,
    plans and tool data."""
    path = sqlite_path(url)
    if path is None:
        return
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


def write_ahead(url: str) -> None:
    """Put a SQLite run database in write-ahead-log mode (kept in the file, so every later connection has it): a
    commit then appends to the log with one sync instead of writing and deleting a rollback journal, which cost
    about 14 ms a commit against 0.5-2.7 ms here, and a durable run commits at every checkpoint and progress
    event. Readers (``echelon runs``, the UI) also stop blocking the run that writes."""
    path = sqlite_path(url)
    if path is None:
        return
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


_NORMAL_SYNC: set[str] = set()


def sync_at_checkpoints(url: str) -> None:
    """Have every SQLAlchemy connection this process opens to a SQLite run database sync the file at WAL
    checkpoints rather than at each commit (``PRAGMA synchronous=NORMAL``, SQLite's advice for WAL). A commit is
    still durable when any process stops or is killed; only a power loss or an operating-system crash can take
    the last commits back, and a run then resumes from an earlier checkpoint. A warm delegate commits a dozen
    times, and each sync waited on the disk (warm delegate 98-103 ms against 57-60 ms here, under load)."""
    path = sqlite_path(url)
    if path is None:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not _NORMAL_SYNC:
        event.listen(Engine, "connect", _sync_normally)
    _NORMAL_SYNC.add(str(path.resolve()))


def _sync_normally(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    files = {str(row[2]) for row in dbapi_connection.execute("PRAGMA database_list").fetchall() if row[2]}
    if files & _NORMAL_SYNC:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def sqlalchemy_url(url: str) -> str:
    """``url`` with the driver DBOS uses named for SQLAlchemy (psycopg 3 for PostgreSQL)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for another database)."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


class RunEvent(BaseModel):
    """One progress message of a run, as it was said."""

    time: float
    message: str


class RunSummary(BaseModel):
    """One line of ``list_runs``: what was asked, how far it got, what it cost."""

    run_id: str
    status: RunStatus
    request: str
    started_at: float | None = Field(default=None, description="Unix time")
    updated_at: float | None = None
    phases_done: int = 0
    phases_total: int | None = None
    llm_calls: int = 0
    tokens: int = 0
    cost_usd: float = Field(default=0.0, description="Estimated cost of the run's model calls, USD")
    wall_seconds: float | None = None
    resumed_from: str | None = None
