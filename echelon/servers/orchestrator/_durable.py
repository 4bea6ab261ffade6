"""Durable runs: every delegation is a DBOS workflow whose steps are the plan, each phase, and the answer.

``DurableRuns`` owns this process's DBOS runtime (one per process: DBOS is a singleton). It is started in the
background once the orchestrator serves, so readiness does not wait for ``import dbos`` (about 0.8 s), and
stopped with the orchestrator. Runs are enqueued on a DBOS queue (``[runs] concurrency`` at once per
orchestrator) and run on the orchestrator's own event loop, where its sessions live. Phase steps are preemptible:
cancelling a run (from any process on the database) cancels its in-flight manager call. What a step returns is
redacted before DBOS stores it. Progress goes to the run's ``events`` stream and to whoever follows the run here.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from echelon import __version__

from ..core import telemetry
from ..core.envelope import DelegationResult, ErrorInfo
from ..core.progress import Progress, Send
from ..core.runs import (
    EVENTS_STREAM,
    WORKFLOW_NAME,
    RunEvent,
    RunsSettings,
    database_url,
    protect,
    sync_at_checkpoints,
    write_ahead,
)
from ..core.runs._reader import RunReader, RunView
from ..core.runs._redact import Redactor
from ._checkpoints import Checkpoints, Slot, StepFn
from ._delegation import Delegation, RunInput
from ._liveness import HEARTBEAT_SECONDS, Executor

if TYPE_CHECKING:
    from ..core.config import HierarchyConfig
    from ._heartbeats import Liveness
    from .orchestrator import Orchestrator

logger = logging.getLogger(__name__)
QUEUE_PREFIX = "echelon-delegations"
# How soon a queued run starts: one query of the run database per interval and orchestrator while it serves. At
# 0.05 s an orchestrator waiting for its host's next request spends 9% of a core on it (2% at 1 s, measured here),
# so the queue is polled at the idle pace once no run has been queued or submitted for IDLE_AFTER_SECONDS, and at
# the busy pace again as soon as a run is submitted (the first run after a quiet spell waits up to 1 s). Runs that
# are running need no fast polling (about 4 ms of CPU a poll, measured here): only queued ones wait on it.
QUEUE_POLL_SECONDS, IDLE_QUEUE_POLL_SECONDS, IDLE_AFTER_SECONDS = 0.05, 1.0, 30.0
# Waiting for a run's result: a run this process executes says when it ends (`DurableRuns._ending`), and its
# recorded result is then read every RECORDED_POLL_SECONDS until DBOS has written it (a few milliseconds); a run
# another orchestrator executes is looked at every RESULT_POLL_SECONDS.
RECORDED_POLL_SECONDS, RESULT_POLL_SECONDS = 0.01, 0.5
# Ending events kept for runs that may still be waited for (the oldest are dropped; a waiter then polls).
KEPT_ENDINGS = 1024
_GOING = ("PENDING", "ENQUEUED", "DELAYED")
_active: DurableRuns | None = None  # the runs service of this process, which the workflow function runs on


class RunMonitor:
    """The live side of one run in this process: its recent progress, and who is following it."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.events: deque[RunEvent] = deque(maxlen=200)
        self.published = 0  # progress messages so far; the n-th is events[n - published] while it is kept
        self.listeners: list[Send] = []
        self._steps: list[contextvars.Context] = []
        self._sent: deque[tuple[float, float | None, str]] = deque(
            maxlen=200
        )  # what listeners got, to replay

    async def publish(self, value: float, total: float | None, message: str | None) -> None:
        if not message:
            return
        event = RunEvent(time=time.time(), message=message)
        self.events.append(event)
        self._sent.append((value, total, message))
        self.published += 1
        if self._steps:
            await self._write(self._steps[-1], event)
        for listener in list(self.listeners):
            try:
                await listener(value, total, message)
            except Exception:  # a follower that went away must not stop the run
                self.listeners.remove(listener)

    async def _write(self, step: contextvars.Context, event: RunEvent) -> None:
        from dbos import DBOS

        # Progress arrives on the session's tasks, outside DBOS's step context: the write runs as a task in (a
        # copy of) the step's context, so DBOS records it in that step's run. DBOS's step context is one mutable
        # object: once the step has ended, a write from its context would be an operation of the workflow itself,
        # taking a step number a later step was given (DBOSUnexpectedStepError). So the write happens only while
        # the step still runs, checked in the same turn of the loop in which DBOS reads the context.
        async def write() -> None:
            if any(s is step for s in self._steps):
                await DBOS.write_stream_async(EVENTS_STREAM, event.model_dump())

        from dbos import error

        try:
            await asyncio.get_running_loop().create_task(write(), context=step.copy())
        # Progress is best effort; the run's result never depends on it. DBOS raises BaseExceptions (a cancelled
        # run, a run another execution took over) that are meant for the workflow: here they would end the
        # session task that forwarded the progress, and with it the manager's connection and the server.
        except (Exception, error.DBOSBaseException) as exc:
            logger.debug("could not record a progress event: %s", exc)

    @contextlib.contextmanager
    def in_step(self) -> Any:
        """While a step runs, progress is also written to the run's stream from the step's own context. Steps
        of parallel phases end in any order, so each removes its own entry."""
        step = contextvars.copy_context()
        self._steps.append(step)
        try:
            yield
        finally:
            self._steps[:] = [s for s in self._steps if s is not step]

    @contextlib.asynccontextmanager
    async def following(self, listener: Send | None, *, after: int | None = None) -> AsyncGenerator[Followed]:
        """``listener`` gets the run's progress for the duration of the block; with ``after`` (the ``seen`` of
        the caller's last look) first the messages it missed in between that this process still holds, in
        order. The yielded ``Followed`` says, once the block ends, how many messages the listener has had."""
        followed = Followed(self.published)
        if listener is None:
            yield followed
            followed.seen = self.published
            return
        missed = (
            list(self._sent)[max(0, len(self._sent) - (self.published - after)) :]
            if after is not None
            else []
        )
        held: list[tuple[float, float | None, str]] = []
        replaying = True

        async def live(value: float, total: float | None, message: str | None) -> None:
            if replaying:  # keep the order: what was missed first
                held.append((value, total, message or ""))
            else:
                await listener(value, total, message)

        self.listeners.append(live)  # in the same turn as reading missed: nothing falls between the two
        try:
            queue = missed
            while queue:
                for value, total, message in queue:
                    await listener(value, total, message)
                queue = held[:]
                held.clear()
            replaying = False
            yield followed
        finally:
            if live in self.listeners:
                self.listeners.remove(live)
            followed.seen = self.published


@dataclass
class Followed:
    """How many of a run's progress messages a follower has had (``after`` for its next look)."""

    seen: int


class _DbosSlot(Slot):
    def __init__(self, reservation: Any, name: str, checkpoints: DbosCheckpoints) -> None:
        self.reservation = reservation
        self.name = name
        self.checkpoints = checkpoints

    async def run(self, fn: StepFn) -> dict[str, Any]:
        result: dict[str, Any] = await self.reservation.run_async(
            {"name": self.name, "preemptible": True}, self.checkpoints.kept(fn)
        )
        return result


class DbosCheckpoints(Checkpoints):
    """Steps of the current DBOS workflow."""

    def __init__(self, monitor: RunMonitor, redactor: Redactor) -> None:
        self.monitor = monitor
        self.redactor = redactor

    def kept(self, fn: StepFn) -> StepFn:
        async def step() -> dict[str, Any]:
            with self.monitor.in_step():
                return self.redactor.json(await fn())

        return step

    async def step(self, name: str, fn: StepFn) -> dict[str, Any]:
        from dbos import DBOS

        result: dict[str, Any] = await DBOS.run_step_async({"name": name, "preemptible": True}, self.kept(fn))
        return result

    def slots(self, names: Sequence[str]) -> dict[str, Slot]:
        from dbos import DBOS

        return {name: _DbosSlot(DBOS.reserve_step(), name, self) for name in names}


def _workflow() -> Any:
    """The delegation workflow function, registered with DBOS once per process."""
    from dbos import DBOS

    global _registered
    if _registered is None:

        @DBOS.workflow(name=WORKFLOW_NAME)
        async def delegation(run: dict[str, Any]) -> dict[str, Any]:
            if _active is None:
                raise RuntimeError("no orchestrator runs delegations in this process")
            return await _active.execute(RunInput.model_validate(run))

        _registered = delegation
    return _registered


_registered: Any = None


class DurableRuns:
    """This process's DBOS runtime, its queue, and the runs it executes."""

    def __init__(
        self, orchestrator: Orchestrator, settings: RunsSettings, *, secrets: Sequence[str] = ()
    ) -> None:
        self.orchestrator = orchestrator
        self.settings = settings
        self.url = database_url(settings)
        self.queue = settings.queue or hierarchy_queue(orchestrator.config)
        self.redactor = Redactor(secrets)
        self.me = Executor.this_process()
        self.monitors: dict[str, RunMonitor] = {}
        self.ready = anyio.Event()
        self._endings: OrderedDict[str, anyio.Event] = OrderedDict()
        self.failure: BaseException | None = None
        self._liveness: Liveness | None = None
        self._queue: Any = None
        self._reader: RunReader | None = None
        self._polling = QUEUE_POLL_SECONDS
        self._last_busy = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start DBOS, then keep this executor's heartbeat and finish dead executors' runs until cancelled; stop
        DBOS however this ends (an orchestrator that stops while DBOS is still starting included)."""
        global _active
        task_status.started()
        try:
            try:
                await anyio.to_thread.run_sync(_import_dbos)
                await anyio.to_thread.run_sync(write_ahead, self.url)
                sync_at_checkpoints(self.url)
                self._liveness = await anyio.to_thread.run_sync(_liveness_on, self.url)
                await anyio.to_thread.run_sync(self._liveness.beat, self.me)
                _active = self
                self._launch()  # in this thread: DBOS runs dequeued and recovered workflows on this event loop
                protect(self.url)
                self._queue = await _register_queue(self.queue, self.settings.concurrency)
            except Exception as exc:
                self.failure = exc
                logger.error("durable runs could not start on %s: %s", _shown(self.url), exc)
                raise
            finally:
                self.ready.set()
            while True:
                await self._recover_dead()
                await anyio.sleep(HEARTBEAT_SECONDS)
                await anyio.to_thread.run_sync(self._liveness.beat, self.me)
        finally:
            if self.failure is None and not self.ready.is_set():
                self.failure = RuntimeError("the orchestrator stopped")
            with anyio.CancelScope(shield=True):
                await self._stop()

    def _launch(self) -> None:
        from dbos import DBOS, DBOSPortableJSONSerializer

        _workflow()
        DBOS(
            config={
                "name": "echelon",
                "system_database_url": self.url,
                "executor_id": self.me.executor_id,
                "application_version": __version__,
                "log_level": "WARNING",
                "serializer": DBOSPortableJSONSerializer(),
                "notification_listener_polling_interval_sec": 0.2,
            }
        )
        # DBOS dequeues from every queue recorded in the database unless told otherwise; another hierarchy's
        # queued runs are not this orchestrator's to run.
        DBOS.listen_queues([self.queue])
        DBOS.launch()
        dbos_logger = logging.getLogger("dbos")
        if not any(isinstance(f, _CancelledRuns) for f in dbos_logger.filters):
            dbos_logger.addFilter(_CancelledRuns())

    async def _stop(self) -> None:
        global _active
        if _active is not self:
            return  # DBOS never started for this one
        from dbos import DBOS

        _active = None
        if self._reader is not None:
            self._reader.close()
        await anyio.to_thread.run_sync(DBOS.destroy)
        if self._liveness is not None:
            await anyio.to_thread.run_sync(self._liveness.forget, self.me)
            self._liveness.close()

    async def _recover_dead(self) -> None:
        """Hand the pending runs of orchestrators that are gone to DBOS's recovery (this one may take them)."""
        from dbos import DBOS

        assert self._liveness is not None
        pending = await DBOS.list_workflows_async(
            status="PENDING", name=WORKFLOW_NAME, load_input=False, load_output=False
        )
        # Only runs of this hierarchy's queue: an orchestrator of another config could not carry them out.
        mine = [w for w in pending if w.queue_name == self.queue]
        owners = {w.executor_id for w in mine if w.executor_id}
        await self._pace(busy=await self._queued())
        dead = await anyio.to_thread.run_sync(self._liveness.dead, owners, self.me)
        if dead:
            logger.warning("finishing the runs of stopped orchestrators: %s", ", ".join(dead))
            await anyio.to_thread.run_sync(DBOS._recover_pending_workflows, dead)  # pyright: ignore[reportPrivateUsage]

    async def _queued(self) -> bool:
        from dbos import DBOS

        waiting = await DBOS.list_workflows_async(
            status="ENQUEUED", queue_name=self.queue, limit=1, load_input=False, load_output=False
        )
        return bool(waiting)

    async def _pace(self, *, busy: bool) -> None:
        """Poll the queue at the busy pace while this queue has work or had it lately, else at the idle pace. The
        pace is the queue's own setting in the run database, so every replica of the hierarchy follows it."""
        now = time.monotonic()
        if busy:
            self._last_busy = now
        wanted = QUEUE_POLL_SECONDS if now - self._last_busy < IDLE_AFTER_SECONDS else IDLE_QUEUE_POLL_SECONDS
        if wanted != self._polling and self._queue is not None:
            await self._queue.set_polling_interval_sec_async(wanted)
            self._polling = wanted

    async def started(self) -> None:
        """Wait until runs can be submitted; raise why not if DBOS could not start."""
        await self.ready.wait()
        if self.failure is not None or self._queue is None:
            raise RuntimeError(f"the run database {_shown(self.url)} is unavailable: {self.failure}")

    # -- runs --------------------------------------------------------------------------------------------------

    def _ending(self, run_id: str) -> anyio.Event:
        """The event set when this process's execution of ``run_id`` returns or stops (made by whichever of the
        run and a waiter asks first)."""
        event = self._endings.get(run_id)
        if event is None:
            event = self._endings[run_id] = anyio.Event()
            while len(self._endings) > KEPT_ENDINGS:
                self._endings.popitem(last=False)
        return event

    def monitor(self, run_id: str) -> RunMonitor:
        if run_id not in self.monitors:
            self.monitors[run_id] = RunMonitor(run_id)
        return self.monitors[run_id]

    async def execute(self, run: RunInput) -> dict[str, Any]:
        """The body of the workflow: the delegation, its steps kept by DBOS."""
        from dbos import DBOS

        # A resumed run is a fork under a new id: the result carries the id it runs under.
        run = run.model_copy(update={"run_id": DBOS.workflow_id or run.run_id})
        monitor = self.monitor(run.run_id)
        checkpoints = DbosCheckpoints(monitor, self.redactor)
        ended = self._endings.get(run.run_id)
        if ended is not None and ended.is_set():  # run again under its own id (resumed): a new ending
            del self._endings[run.run_id]
        try:
            with (
                telemetry.under(run.trace),
                telemetry.span("echelon.run", **{"echelon.run_id": run.run_id}) as current,
            ):
                result = await Delegation(self.orchestrator, run, checkpoints, Progress(monitor.publish))()
                current.set_attribute("echelon.status", result.status)
            return self.redactor.json(result.model_dump(mode="json"))
        finally:
            self._ending(run.run_id).set()

    async def submit(self, run: RunInput) -> None:
        """Enqueue ``run`` under its own id (submitting the same id again is a no-op)."""
        from dbos import SetWorkflowID

        await self.started()
        await self._pace(busy=True)
        with SetWorkflowID(run.run_id):
            await self._queue.enqueue_async(_workflow(), run.model_dump(mode="json"))

    async def result(self, run_id: str, wait_seconds: float) -> DelegationResult | None:
        """The run's result once it has one, waiting at most ``wait_seconds``; None if it is still going."""
        from dbos import DBOS

        await self.started()
        handle = await DBOS.retrieve_workflow_async(run_id)
        with anyio.move_on_after(max(wait_seconds, 0.0)):
            return await self._outcome(run_id, handle)
        # It may have ended just as the wait did: then its result is there to take, not a progress report.
        status = await handle.get_status()
        if status.status not in _GOING:
            return await self._outcome(run_id, handle)
        return None

    async def _outcome(self, run_id: str, handle: Any) -> DelegationResult | None:
        ended = self._ending(run_id)
        try:
            while not ended.is_set() and (await handle.get_status()).status in _GOING:
                with anyio.move_on_after(RESULT_POLL_SECONDS):
                    await ended.wait()
            return _result_of(await handle.get_result(polling_interval_sec=RECORDED_POLL_SECONDS))
        except Exception as exc:  # the run was cancelled, or the workflow itself broke
            return await self._ended_without_result(run_id, exc)

    async def _ended_without_result(self, run_id: str, exc: Exception) -> DelegationResult:
        """A result for a run that stopped before it had one: what finished, and why it stopped."""
        view = await self.view(run_id)
        finished = [p.result for p in view.phases if p.result is not None]
        cancelled = view.summary.status == "cancelled"
        why = "it was cancelled" if cancelled else f"it broke: {exc}"
        output = (
            f"The run stopped before it had an answer: {why}. {len(finished)} of {len(view.phases)} phases had "
            f"finished; resume_run(run_id={run_id!r}) continues it."
        )
        return DelegationResult(
            request=view.summary.request,
            run_id=run_id,
            status="cancelled" if cancelled else "failed",
            output=output,
            phases=finished,
            plan=view.plan.model_dump(mode="json") if view.plan else None,
            errors=[ErrorInfo(where="run", message=why, kind="cancelled" if cancelled else "error")],
        )

    # -- reading and changing runs ------------------------------------------------------------------------------

    @property
    def reader(self) -> RunReader:
        if self._reader is None:
            self._reader = RunReader(self.url)
        return self._reader

    async def view(self, run_id: str) -> RunView:
        """The run as it stands; ``LookupError`` naming the id when there is no such run."""
        await self.started()
        view = await self.reader.get(run_id, with_events=False)
        if view is None:
            raise LookupError(f"there is no run {run_id!r} (list_runs shows the runs there are)")
        live = self.monitors.get(run_id)
        view.events = list(live.events) if live is not None else await self.reader.events(run_id)
        return view

    async def cancel(self, run_id: str) -> RunView:
        """Cancel the run: its in-flight manager call is cancelled, and no further step runs."""
        from dbos import DBOS

        view = await self.view(run_id)
        if view.summary.status in ("queued", "running"):
            await DBOS.cancel_workflow_async(run_id)
        return await self.view(run_id)

    async def resume(self, run_id: str) -> str:
        """Resume a cancelled or broken run where it stopped (same id); start a finished run that failed again
        from its first failed phase (a new id). Returns the id the run continues under."""
        from dbos import DBOS

        view = await self.view(run_id)
        status = view.summary.status
        record = await DBOS.get_workflow_status_async(run_id)
        if record is not None and record.queue_name not in (None, self.queue):
            raise ValueError(
                f"run {run_id!r} belongs to another hierarchy (queue {record.queue_name}, this one is "
                f"{self.queue}): resume it from an orchestrator serving the config it was started with"
            )
        if status in ("queued", "running"):
            return run_id
        if status == "cancelled" or view.error is not None:
            await DBOS.resume_workflow_async(run_id, queue_name=self.queue)
            return run_id
        if status == "ok":
            raise ValueError(
                f"run {run_id!r} finished ok; there is nothing to resume (delegate again to redo it)"
            )
        steps = await DBOS.list_workflow_steps_async(run_id)
        failed = {p.name for p in view.phases if p.state in ("failed", "skipped", "not run")}
        start = next(
            (s["function_id"] for s in steps if s["function_name"].removeprefix("phase:") in failed),
            next((s["function_id"] for s in steps if s["function_name"] == "answer"), None),
        )
        if start is None:
            raise ValueError(f"run {run_id!r} has no unfinished phase to resume from")
        handle = await DBOS.fork_workflow_async(
            run_id, start, application_version=__version__, queue_name=self.queue
        )
        return handle.get_workflow_id()


def hierarchy_queue(config: HierarchyConfig) -> str:
    """The queue of runs of ``config``'s hierarchy: named by its managers and their workers, so orchestrators
    serving the same hierarchy (from any machine) share runs, and one of another hierarchy never takes them."""
    shape = {key: sorted(manager.workers) for key, manager in sorted(config.managers.items())}
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:12]
    return f"{QUEUE_PREFIX}-{digest}"


async def _register_queue(name: str, concurrency: int) -> Any:
    from dbos import DBOS

    return await DBOS.register_queue_async(
        name, worker_concurrency=concurrency, polling_interval_sec=QUEUE_POLL_SECONDS
    )


def _result_of(output: Any) -> DelegationResult | None:
    return DelegationResult.model_validate(output) if output is not None else None


class _CancelledRuns(logging.Filter):
    """Drops DBOS's ERROR traceback for a workflow that was cancelled: cancelling a run is an ordinary request
    (cancel_run, tasks/cancel, a host giving up), and the run's status records it."""

    def filter(self, record: logging.LogRecord) -> bool:
        from dbos import error

        cancelled = (error.DBOSAwaitedWorkflowCancelledError, error.DBOSWorkflowCancelledError)
        return not (record.exc_info and isinstance(record.exc_info[1], cancelled))


def _liveness_on(url: str) -> Liveness:
    from ._heartbeats import Liveness

    return Liveness(url)


def _import_dbos() -> None:
    import dbos  # pyright: ignore[reportUnusedImport]  # noqa: F401 - slow (about 0.8 s): in a thread, once


def _shown(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url
