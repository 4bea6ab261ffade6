"""How the local model server ended, as its supervisor recorded it, and the sentence that tells a user why.

The server is detached and shared, so the process that finds it dead is never its parent and cannot wait for it.
Its supervisor (``_local_supervisor``) is: it records the engine's exit status in ``<state>.exit.json`` next to
the state file, and ``describe_exit`` turns that record into the cause and the fix.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ._install_hints import portable_reinstall_command
from ._prompt_cache import cache_capacity_bytes

_CONTEXT_BYTES = 500_000_000  # KV cache for 8k tokens and compute buffers, measured for the 1.5B model


class ExitRecord(BaseModel):
    """What the supervisor saw when its engine process ended."""

    server_pid: int
    engine_pid: int
    returncode: int
    stop_requested: bool = False
    unresponsive_seconds: float | None = None
    oom_kills: int = 0
    peak_rss_bytes: int | None = None
    model_path: str = ""
    log_file: str = ""
    ended_at: float = 0.0

    @property
    def signal_name(self) -> str | None:
        if self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"

    @property
    def clean(self) -> bool:
        """An idle timeout or a requested stop: nothing went wrong, a new server simply takes over."""
        return self.returncode == 0 or (self.stop_requested and self.signal_name in ("SIGTERM", "SIGINT"))


def exit_file(state_file: Path) -> Path:
    return state_file.with_name(state_file.stem + ".exit.json")


def read_exit(path: Path) -> ExitRecord | None:
    try:
        return ExitRecord.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError, ValidationError):
        return None


def write_exit(path: Path, record: ExitRecord) -> None:
    """Write the record atomically (a reader polling for it never sees half a file)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(record.model_dump_json())
    os.replace(tmp, path)


def oom_kill_count() -> int:
    """How many processes the kernel's out-of-memory killer has killed since boot (Linux; 0 elsewhere)."""
    try:
        for line in Path("/proc/vmstat").read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _gb(size: float) -> str:
    return f"{size / 1e9:.1f} GB"


def _available_memory() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_needed(model_path: str) -> str:
    """About how much memory the server needs for this model, and of what."""
    try:
        weights = Path(model_path).stat().st_size
    except OSError:
        weights = 0
    cache = cache_capacity_bytes()
    return (
        f"about {_gb(weights + _CONTEXT_BYTES + cache)} ({_gb(weights)} of weights, {_gb(_CONTEXT_BYTES)} of "
        f"context, up to {_gb(cache)} of prompt cache)"
    )


def _memory_advice(record: ExitRecord) -> str:
    facts = [f"the model needs {memory_needed(record.model_path)}"]
    if record.peak_rss_bytes:
        facts.append(f"the server had grown to {_gb(record.peak_rss_bytes)}")
    if (available := _available_memory()) is not None:
        facts.append(f"{_gb(available)} is available now")
    return (
        "; ".join(facts)
        + ". Free memory, lower ECHELON_LOCAL_CACHE_MB (the prompt cache), or use the smaller model local:0.5b"
    )


def describe_exit(record: ExitRecord, *, log_tail: str = "") -> str:
    """The cause of the server's end and what to do, naming its log."""
    log = f" Its log: {record.log_file}" if record.log_file else ""
    tail = f"\nThe log ends:\n{log_tail}" if log_tail.strip() else ""
    name = record.signal_name
    who = f"the local model server (pid {record.server_pid}, engine {record.engine_pid})"
    if record.unresponsive_seconds is not None:
        return (
            f"{who} stopped answering for {record.unresponsive_seconds:.0f} s and was killed by its supervisor; "
            f"a new one starts with the next request.{log}{tail}"
        )
    if record.clean:
        return f"{who} exited normally (idle timeout or stop); a new one starts with the next request."
    if name == "SIGILL":
        return (
            f"{who} was killed by SIGILL (illegal instruction): its llama.cpp build uses CPU instructions this "
            f"machine refuses. Reinstall a portable build with:\n  {portable_reinstall_command()}\n{log.strip()}"
        )
    if name == "SIGKILL" and record.oom_kills > 0:
        return (
            f"{who} was killed by the kernel's out-of-memory killer (SIGKILL): {_memory_advice(record)}.{log}"
        )
    if name == "SIGKILL":
        return f"{who} was killed (SIGKILL), possibly out of memory: {_memory_advice(record)}.{log}"
    if name in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGFPE"):
        return (
            f"{who} crashed with {name}: a fault in llama.cpp or a damaged model file ({record.model_path}; "
            f"delete it to fetch it again), or a broken llama-cpp-python build (reinstall with: "
            f"{portable_reinstall_command()}).{log}{tail}"
        )
    if name is not None:
        return f"{who} was stopped by {name}, sent by another program.{log}{tail}"
    return f"{who} exited with code {record.returncode}.{log}{tail}"


def describe_vanished(server_pid: int, log_file: Path, model_path: str) -> str:
    """For a server whose supervisor is gone without a record: only SIGKILL (or a machine crash) does that."""
    record = ExitRecord(server_pid=server_pid, engine_pid=0, returncode=0, model_path=model_path)
    return (
        f"the local model server (pid {server_pid}) disappeared without recording why: it was killed "
        f"(SIGKILL), possibly out of memory: {_memory_advice(record)}. Its log: {log_file}"
    )
