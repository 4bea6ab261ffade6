"""One embedded model server per machine, shared by every process that uses the local model.

``ensure_local_server(spec)`` returns the base URL of a running server for the model: ``ECHELON_LOCAL_URL`` if
set (how a parent hands its server to children, and how tests pass one in); else the server named by the
model's state file (``<cache>/local-server-<key>.json``) if it answers ``/health``; else, under a file lock so
that processes starting together start only one, it fetches the model if needed and spawns the server detached
(it outlives its starter and exits after its idle timeout), then waits for it to come up.

The server is a supervisor with the engine as its child (see ``_local_supervisor``): when the engine dies, the
supervisor records how, and ``diagnose`` turns that record into the caller's error (SIGILL: rebuild portably;
SIGKILL: memory). The state file is removed with it, so the next request starts a new server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from pydantic import BaseModel, ValidationError

from ._install_hints import require_local_runtime
from ._local_exit import ExitRecord, describe_exit, describe_vanished, exit_file, read_exit
from ._model_files import KnownModel, ResolvedModel, cache_dir, ensure_model, file_lock, resolve_model_spec
from .base import ModelError

ENV_URL = "ECHELON_LOCAL_URL"
DEFAULT_IDLE_TIMEOUT = 900.0
STARTUP_TIMEOUT = 180.0
DIAGNOSIS_WAIT = 15.0  # how long a caller waits for the supervisor's record of a death


class ServerState(BaseModel):
    """What a running server wrote about itself: ``pid`` is the server's (its supervisor's, when supervised),
    ``engine_pid`` the process that runs the model."""

    pid: int
    engine_pid: int | None = None
    url: str
    model_path: str


class LocalServerFailed(ModelError):
    """The local model server died or stopped answering; the message names the cause, the fix and its log."""


@dataclass(frozen=True)
class ServerFailure:
    """How a server the caller was using ended: the sentence for the user, and whether it was a clean exit
    (an idle timeout that raced with the request: retrying on a new server is right)."""

    message: str
    clean: bool


def state_file(resolved: ResolvedModel) -> Path:
    return cache_dir() / f"local-server-{resolved.state_key}.json"


def log_file(resolved: ResolvedModel) -> Path:
    return cache_dir() / f"local-server-{resolved.state_key}.log"


def read_state(path: Path) -> ServerState | None:
    try:
        return ServerState.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError):
        return None


async def _healthy(state: ServerState, resolved: ResolvedModel) -> bool:
    """Whether the server in ``state`` answers and serves this model (a reused port could be anything)."""
    import httpx  # about 60 ms, paid at the first model call rather than by every server's start

    try:
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:  # loopback: never via a proxy
            response = await client.get(state.url + "/health")
        data = response.json()
    except (httpx.HTTPError, ValueError):
        return False
    return response.status_code == 200 and data.get("model_path") == str(resolved.path)


async def running_server(spec: str | KnownModel | None = None) -> str | None:
    """The URL of a healthy shared server for ``spec``, or None."""
    resolved = resolve_model_spec(spec)
    state = read_state(state_file(resolved))
    if state is not None and await _healthy(state, resolved):
        return state.url
    return None


async def ensure_local_server(
    spec: str | KnownModel | None = None, *, idle_timeout: float = DEFAULT_IDLE_TIMEOUT
) -> str:
    """The base URL (no ``/v1``) of a server for ``spec``, starting the shared one if none is running."""
    url, _state = await connect_local_server(spec, idle_timeout=idle_timeout)
    return url


async def connect_local_server(
    spec: str | KnownModel | None = None, *, idle_timeout: float = DEFAULT_IDLE_TIMEOUT
) -> tuple[str, ServerState | None]:
    """Like ``ensure_local_server``, with the state of the shared server (None for ``ECHELON_LOCAL_URL``), which
    ``diagnose`` needs if a request to it fails."""
    if url := os.environ.get(ENV_URL, "").strip():
        return url.rstrip("/").removesuffix("/v1"), None
    resolved = resolve_model_spec(spec)
    state = read_state(state_file(resolved))
    if state is not None and await _healthy(state, resolved):
        return state.url, state
    require_local_runtime()  # before anything is fetched or started
    lock = cache_dir() / f"local-server-{resolved.state_key}.lock"
    url = await anyio.to_thread.run_sync(
        _start_locked, spec, resolved, lock, idle_timeout, abandon_on_cancel=True
    )
    state = read_state(state_file(resolved))
    return url, state if state is not None and state.url == url else None


def _start_locked(
    spec: str | KnownModel | None, resolved: ResolvedModel, lock: Path, idle_timeout: float
) -> str:
    with file_lock(lock):
        if url := anyio.from_thread.run(running_server, spec):  # started by another process while we waited
            return url
        model = ensure_model(spec)
        return _spawn(resolved, model, idle_timeout)


def _spawn(resolved: ResolvedModel, model: Path, idle_timeout: float) -> str:
    state_path = state_file(resolved)
    state_path.unlink(missing_ok=True)
    log_path = log_file(resolved)
    args = [
        sys.executable,
        "-m",
        "echelon.servers.core.llm._local_supervisor",
        "--log-file",
        str(log_path),
        "--model",
        str(model),
        "--model-id",
        resolved.model_id,
        "--port",
        "0",
        "--idle-timeout",
        str(idle_timeout),
        "--state-file",
        str(state_path),
    ]
    env = dict(os.environ)
    env["ECHELON_DETACHED"] = "1"  # shared by every process on the machine: no one stopping stops it
    project_root = str(Path(__file__).resolve().parents[4])  # so `-m echelon.servers...` imports from any cwd
    env["PYTHONPATH"] = os.pathsep.join(p for p in (project_root, env.get("PYTHONPATH", "")) if p)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    too_long = log_path.exists() and log_path.stat().st_size > 1_000_000
    with log_path.open("wb" if too_long else "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {resolved.model_id}\n".encode())
        log.flush()
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=str(log_path.parent),
            env=env,
            **_detached(),
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            record = read_exit(exit_file(state_path))
            if record is not None and record.server_pid == process.pid:
                raise LocalServerFailed("while starting, " + describe_exit(record, log_tail=_tail(log_path)))
            raise LocalServerFailed(
                f"the local model server exited with code {process.returncode} while starting; its log "
                f"{log_path} ends:\n" + _tail(log_path)
            )
        state = read_state(state_path)
        if (
            state is not None
            and state.pid == process.pid
            and anyio.from_thread.run(_healthy, state, resolved)
        ):
            return state.url
        time.sleep(0.1)
    process.terminate()
    raise LocalServerFailed(
        f"the local model server did not come up within {STARTUP_TIMEOUT:.0f} s; see {log_path}:\n"
        + _tail(log_path)
    )


def _detached() -> dict[str, Any]:
    """Popen options that let the server outlive (and ignore the signals of) the process that started it."""
    if sys.platform == "win32":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        return {"creationflags": flags}
    return {"start_new_session": True}


async def diagnose(spec: str | KnownModel | None, state: ServerState) -> ServerFailure | None:
    """After a failed request to the server in ``state``: None if it is still healthy (the failure was something
    else), else how it ended, waiting briefly for its supervisor's record."""
    resolved = resolve_model_spec(spec)
    record_path = exit_file(state_file(resolved))
    with anyio.move_on_after(DIAGNOSIS_WAIT):
        while True:
            record = read_exit(record_path)
            if record is not None and record.server_pid == state.pid:
                return _failure(record, resolved)
            if await _healthy(state, resolved):
                return None
            if not _alive(state.pid):
                record = read_exit(record_path)  # written just before the supervisor exited?
                if record is not None and record.server_pid == state.pid:
                    return _failure(record, resolved)
                return ServerFailure(
                    describe_vanished(state.pid, log_file(resolved), state.model_path), False
                )
            await anyio.sleep(0.05)
    return ServerFailure(
        f"the local model server (pid {state.pid}) at {state.url} does not answer; its supervisor kills it after "
        f"a while without answers. Its log: {log_file(resolved)}",
        False,
    )


def _failure(record: ExitRecord, resolved: ResolvedModel) -> ServerFailure:
    return ServerFailure(describe_exit(record, log_tail=_tail(log_file(resolved), 8)), record.clean)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def stop_local_server(spec: str | KnownModel | None = None, *, wait_seconds: float = 30.0) -> bool:
    """Stop the shared server for ``spec``: SIGTERM, and SIGKILL if it is still there after ``wait_seconds``.
    True if one was running."""
    resolved = resolve_model_spec(spec)
    path = state_file(resolved)
    state = read_state(path)
    if state is None or not await _healthy(state, resolved):
        return False
    try:
        os.kill(state.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    if not await _wait_gone(state, resolved, wait_seconds) and sys.platform != "win32":
        # The engine first (its supervisor then records the end and exits), then whatever is left.
        for pid in dict.fromkeys(p for p in (state.engine_pid, state.pid) if p is not None):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await _wait_gone(state, resolved, wait_seconds)
    path.unlink(missing_ok=True)
    return True


async def _wait_gone(state: ServerState, resolved: ResolvedModel, seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        while await _healthy(state, resolved) or _alive(state.pid):  # noqa: ASYNC110 - polling another process
            await anyio.sleep(0.05)
        return True
    return False


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (reaping it if it is our own exited child). Windows: unknown, so False."""
    if sys.platform == "win32":
        return False
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: its parent reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
