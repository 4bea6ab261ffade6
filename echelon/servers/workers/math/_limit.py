"""Run a computation in a child process that is killed at a deadline.

Size limits in the parser stop the obvious bombs, but a short expression can still take minutes
(``exp(exp(exp(10)))`` evaluated numerically) and a thread cannot be stopped. So each sympy computation runs in
a process forked from a ``forkserver`` that has sympy loaded already (about 10 ms a call), and is killed when the
time is up. The forkserver starts at the first call, not at import.
"""

from __future__ import annotations

import importlib
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from echelon.servers.workers.math._results import MathError

_T = TypeVar("_T")
_CONTEXT = multiprocessing.get_context("forkserver")
_COMPUTATIONS = "echelon.servers.workers.math._compute"
# A child re-imports the caller's main module when it is a script (``python script.py``, the ``pytest`` launcher;
# about 150 ms under pytest), so a script embedding this server must guard its entry point with
# ``if __name__ == "__main__":`` as for any multiprocessing user. ``python -m echelon.servers.workers.math`` is exempt.
_PRELOAD = [
    "__main__",
    "multiprocessing.popen_forkserver",
    "echelon.servers.workers.math._limit",
    _COMPUTATIONS,
]


def _child(conn: Connection, name: str, args: tuple[Any, ...]) -> None:
    try:
        outcome: tuple[str, Any] = ("ok", getattr(importlib.import_module(_COMPUTATIONS), name)(*args))
    except MathError as exc:
        outcome = ("error", str(exc))
    except Exception as exc:  # reported to the caller as a ToolError in the parent
        outcome = ("crash", f"{type(exc).__name__}: {exc}")
    conn.send(outcome)
    conn.close()


def run_limited(name: str, args: tuple[Any, ...], timeout_seconds: float, returns: type[_T]) -> _T:
    """``_compute.<name>(*args)`` in a child process, which returns a ``returns``; ToolError if it fails or
    outlives ``timeout_seconds``. The function goes by name so that this process need not import sympy."""
    from mcp.server.mcpserver.exceptions import ToolError  # the worker's own process has the SDK loaded

    _CONTEXT.set_forkserver_preload(_PRELOAD)
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=_child, args=(sender, name, args), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout_seconds):
            process.kill()
            raise ToolError(
                f"the computation took longer than {timeout_seconds:g} seconds and was stopped; "
                "try a simpler expression, fewer digits, or an exact instead of a numeric result"
            )
        try:
            kind, payload = receiver.recv()
        except EOFError:
            process.join()
            raise ToolError(f"the computation process died (exit code {process.exitcode})") from None
    finally:
        receiver.close()
        process.join()
    if kind == "error":
        raise ToolError(payload)
    if kind == "crash":
        raise ToolError(f"sympy could not compute this: {payload}")
    if not isinstance(payload, returns):
        raise ToolError(f"the computation returned {type(payload).__name__}, not {returns.__name__}")
    return payload
