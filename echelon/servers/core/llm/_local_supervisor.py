"""The shared local model server's supervisor: it runs the engine (``_local_server``) as its child and records how
it ended, because nobody else can.

``python -m echelon.servers.core.llm._local_supervisor [--unresponsive-seconds S] <_local_server arguments>``

The server is started detached and shared by every process on the machine, so no client is its parent and no
client can ``waitpid`` it; SIGKILL (the out-of-memory killer's signal) leaves no trace inside the dying process,
and the kernel log is not readable by users. The supervisor is a small parent that stays out of the model's way:
it waits for the engine, writes the exit status or signal, the engine's peak memory and the system's count of
out-of-memory kills to ``<state>.exit.json`` next to the state file, removes a state file the engine could not,
and exits. It also asks ``/health`` every few seconds and kills an engine that stops answering for
``--unresponsive-seconds`` (``ECHELON_LOCAL_UNRESPONSIVE_SECONDS``, default 120). SIGTERM/SIGINT are passed on
to the engine. The engine writes the supervisor's pid into the state file (so stopping the server stops both) and
exits if the supervisor goes away.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

from ._local_exit import ExitRecord, exit_file, oom_kill_count, write_exit

ENV_UNRESPONSIVE = "ECHELON_LOCAL_UNRESPONSIVE_SECONDS"
DEFAULT_UNRESPONSIVE = 120.0
HEALTH_INTERVAL = 5.0
# Loopback only: a configured HTTP(S)_PROXY must never see requests to the local server.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _health_ok(state_path: Path, engine_pid: int, timeout: float) -> bool | None:
    """True/False once the engine serves (its state file names it), None while it is still loading."""
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        return None
    if state.get("engine_pid") != engine_pid:
        return None
    try:
        with _NO_PROXY.open(str(state["url"]) + "/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, KeyError, ValueError):
        return False


def _peak_rss_bytes() -> int | None:
    """The largest resident set of any waited-for child: the engine's (the supervisor has no other)."""
    if sys.platform == "win32":
        return None
    import resource

    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def _no_core_dumps() -> None:
    # A crashed engine would otherwise leave a core file as large as the model in the cache directory.
    if sys.platform != "win32":
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def supervise(
    server_args: list[str], state_path: Path, log_file: str, model_path: str, unresponsive: float
) -> int:
    """Run the engine until it ends; record how. Returns the supervisor's exit code (0 for a clean end)."""
    _no_core_dumps()
    oom_before = oom_kill_count()
    stop_requested = False
    command = [sys.executable, "-m", "echelon.servers.core.llm._local_server", *server_args]
    engine = subprocess.Popen([*command, "--supervised-by", str(os.getpid())], stdin=subprocess.DEVNULL)

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stop_requested
        stop_requested = True
        engine.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    unresponsive_for: float | None = None
    last_ok = time.monotonic()
    while True:
        try:
            engine.wait(timeout=HEALTH_INTERVAL)
            break
        except subprocess.TimeoutExpired:
            pass
        healthy = _health_ok(state_path, engine.pid, timeout=min(10.0, unresponsive))
        now = time.monotonic()
        if healthy is None or healthy:
            last_ok = now
        elif now - last_ok >= unresponsive and not stop_requested:
            print(
                f"echelon local model supervisor: no answer for {now - last_ok:.0f} s: killing",
                file=sys.stderr,
            )
            unresponsive_for = now - last_ok
            engine.kill()
    record = ExitRecord(
        server_pid=os.getpid(),
        engine_pid=engine.pid,
        returncode=engine.returncode,
        stop_requested=stop_requested,
        unresponsive_seconds=unresponsive_for,
        oom_kills=oom_kill_count() - oom_before,
        peak_rss_bytes=_peak_rss_bytes(),
        model_path=model_path,
        log_file=log_file,
        ended_at=time.time(),
    )
    write_exit(exit_file(state_path), record)
    _remove_state_of(state_path, os.getpid())
    how = f"killed by {record.signal_name}" if record.signal_name else f"exited with code {record.returncode}"
    print(f"echelon local model supervisor: engine {engine.pid} {how}", file=sys.stderr)
    return 0 if record.clean else 1


def _remove_state_of(state_path: Path, pid: int) -> None:
    """Remove the state file if it still names this server (a killed engine cannot remove it itself)."""
    try:
        if json.loads(state_path.read_text()).get("pid") == pid:
            state_path.unlink()
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Run echelon's local model server and record how it ends", allow_abbrev=False
    )
    parser.add_argument("--unresponsive-seconds", type=float, default=None)
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--log-file", default="", help="where the engine's output goes (named in diagnoses)")
    args, rest = parser.parse_known_args(argv)
    unresponsive = args.unresponsive_seconds or float(
        os.environ.get(ENV_UNRESPONSIVE) or DEFAULT_UNRESPONSIVE
    )
    server_args = ["--model", args.model, "--state-file", str(args.state_file), *rest]
    sys.exit(supervise(server_args, args.state_file, args.log_file, args.model, unresponsive))


if __name__ == "__main__":
    main()
