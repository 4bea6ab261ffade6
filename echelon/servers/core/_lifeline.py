"""No process of the hierarchy outlives the one that started it.

Every echelon server starts its children (workers, managers) in sessions of their own, so signalling a server's
process group does not reach them; and a child blocked in a thread cannot finish its own shutdown before its
parent's grace period ends. So each server, when told to stop (SIGTERM) or when it finds its parent gone (it was
re-parented), first stops its descendants (SIGTERM, then SIGKILL after a short grace), then exits. Children stop
before their parent's grace period ends, whatever they were doing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

import psutil

logger = logging.getLogger(__name__)

GRACE_SECONDS = 1.0
WATCH_SECONDS = 0.5
DETACHED_ENV = "ECHELON_DETACHED"
"""Set to 1 in the environment of a process meant to outlive its starter (the shared local model server)."""


def _detached(process: psutil.Process) -> bool:
    try:
        return process.environ().get(DETACHED_ENV) == "1"
    except psutil.Error:
        return False


def stop_descendants(grace: float = GRACE_SECONDS) -> None:
    """SIGTERM every descendant of this process (but detached ones and theirs), and SIGKILL those still alive
    after ``grace`` seconds."""
    try:
        everyone = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    spared = {p.pid for p in everyone if _detached(p)}
    for process in everyone:
        with contextlib.suppress(psutil.Error):
            if process.pid not in spared and any(parent.pid in spared for parent in process.parents()):
                spared.add(process.pid)
    children = [p for p in everyone if p.pid not in spared]
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _gone, alive = psutil.wait_procs(children, timeout=grace)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(alive, timeout=grace)


def _exit_now(code: int) -> None:
    stop_descendants()
    logging.shutdown()
    os._exit(code)  # a thread blocked in a tool would otherwise keep the interpreter alive


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    logger.info("signal %d: stopping children, then exiting", signum)
    _exit_now(128 + signum)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(WATCH_SECONDS)
        if os.getppid() != parent:
            logger.warning("parent process %d is gone: stopping children, then exiting", parent)
            _exit_now(1)


def install() -> None:
    """Stop this server's descendants before it exits on SIGTERM or when its parent dies (POSIX only)."""
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _on_sigterm)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="echelon-lifeline", daemon=True).start()
