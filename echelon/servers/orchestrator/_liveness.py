"""Which orchestrators are alive, so the runs of a dead one are finished by a live one, and never twice.

DBOS recovers the pending workflows of the executors it is told are dead; telling it a live one is dead would run
a workflow twice. Each orchestrator therefore has an executor id of its own (host, pid, start time) and writes a
heartbeat to a small table beside DBOS's. An executor is dead when its heartbeat is stale, or at once when it
ran on this host and its process is gone. DBOS's recovery re-enqueues only workflows still owned by the dead
executor, so two orchestrators recovering the same one at the same moment start it once. (DBOS's own service for
this, Conductor, is hosted; this is the self-hosted part it would do.)
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

import psutil
import sqlalchemy as sa

from ..core.runs import sqlalchemy_url

HEARTBEAT_SECONDS = 5.0
STALE_AFTER_SECONDS = 30.0

_metadata = sa.MetaData()
EXECUTORS = sa.Table(
    "echelon_executors",
    _metadata,
    sa.Column("executor_id", sa.String(200), primary_key=True),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class Executor:
    """This process as a DBOS executor."""

    executor_id: str
    host: str
    pid: int
    started_at: float

    @classmethod
    def this_process(cls) -> Executor:
        host, pid = socket.gethostname(), os.getpid()
        started = psutil.Process(pid).create_time()
        # The suffix tells apart orchestrators one process runs one after another (tests do).
        return cls(f"echelon-{host}-{pid}-{int(started)}-{uuid.uuid4().hex[:6]}", host, pid, started)


class Liveness:
    """The heartbeat table on the run database."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(sqlalchemy_url(url))
        _metadata.create_all(self.engine)

    def beat(self, me: Executor) -> None:
        """Record that ``me`` is alive now."""
        now = time.time()
        with self.engine.begin() as c:
            updated = c.execute(
                sa.update(EXECUTORS).where(EXECUTORS.c.executor_id == me.executor_id).values(heartbeat_at=now)
            ).rowcount
            if not updated:
                c.execute(
                    sa.insert(EXECUTORS).values(
                        executor_id=me.executor_id,
                        host=me.host,
                        pid=me.pid,
                        started_at=me.started_at,
                        heartbeat_at=now,
                    )
                )

    def dead(self, candidates: set[str], me: Executor) -> list[str]:
        """Those of ``candidates`` that are not alive (``me`` never is among them)."""
        candidates = {c for c in candidates if c and c != me.executor_id}
        if not candidates:
            return []
        with self.engine.begin() as c:
            rows = c.execute(sa.select(EXECUTORS).where(EXECUTORS.c.executor_id.in_(candidates))).fetchall()
        known = {row.executor_id: row for row in rows}
        now = time.time()
        found: list[str] = []
        for executor_id in sorted(candidates):
            row = known.get(executor_id)
            if row is None:
                found.append(executor_id)  # never beat here: a DBOS default executor or a deleted row
            elif (
                row.host == me.host and not _same_process_alive(row.pid, row.started_at)
            ) or now - row.heartbeat_at > STALE_AFTER_SECONDS:
                found.append(executor_id)
        return found

    def forget(self, me: Executor) -> None:
        with self.engine.begin() as c:
            c.execute(sa.delete(EXECUTORS).where(EXECUTORS.c.executor_id == me.executor_id))

    def close(self) -> None:
        self.engine.dispose()


def _same_process_alive(pid: int, started_at: float) -> bool:
    """Whether the process that was ``pid`` (started at ``started_at``) still runs; a reused pid is another one."""
    try:
        return abs(psutil.Process(pid).create_time() - started_at) < 1.0
    except psutil.Error:
        return False
