"""Which orchestrators are alive, so the runs of a dead one are finished by a live one, and never twice.

DBOS recovers the pending workflows of the executors it is told are dead; telling it a live one is dead would run
a workflow twice. Each orchestrator therefore has an executor id of its own (host, pid, start time) and writes a
heartbeat to a small table beside DBOS's (``_heartbeats``, which loads SQLAlchemy only once the runs start). An executor is dead when its heartbeat is stale, or at once when it
ran on this host and its process is gone. DBOS's recovery re-enqueues only workflows still owned by the dead
executor, so two orchestrators recovering the same one at the same moment start it once. (DBOS's own service for
this, Conductor, is hosted; this is the self-hosted part it would do.)
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

import psutil

HEARTBEAT_SECONDS = 5.0
STALE_AFTER_SECONDS = 30.0


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


def same_process_alive(pid: int, started_at: float) -> bool:
    """Whether the process that was ``pid`` (started at ``started_at``) still runs; a reused pid is another one."""
    try:
        return abs(psutil.Process(pid).create_time() - started_at) < 1.0
    except psutil.Error:
        return False
