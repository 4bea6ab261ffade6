"""The heartbeat table on the run database (``_liveness`` says why): apart, so that SQLAlchemy (about 0.17 s to
import) loads in the background with DBOS, not before the orchestrator answers its first request."""

from __future__ import annotations

import time

import sqlalchemy as sa

from ..core.runs import sqlalchemy_url
from ._liveness import STALE_AFTER_SECONDS, Executor, same_process_alive

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
                row.host == me.host and not same_process_alive(row.pid, row.started_at)
            ) or now - row.heartbeat_at > STALE_AFTER_SECONDS:
                found.append(executor_id)
        return found

    def forget(self, me: Executor) -> None:
        with self.engine.begin() as c:
            c.execute(sa.delete(EXECUTORS).where(EXECUTORS.c.executor_id == me.executor_id))

    def close(self) -> None:
        self.engine.dispose()
