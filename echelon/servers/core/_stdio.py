"""A stdio transport that remembers how its child ended: the exit code and the last lines of its stderr.

The SDK's ``stdio_client`` hands the child our stderr and keeps the process to itself, so a server that exits at
start-up leaves only "connection closed". This transport speaks the same protocol (newline-delimited JSON-RPC, the
spec's shutdown: close stdin, wait, then terminate the process group), passes the child's stderr on to ours as it
arrives, and keeps a bounded tail of it for error messages. On Windows it falls back to the SDK's transport.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import anyio
import mcp_types
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from mcp import StdioServerParameters
from mcp.client._transport import TransportStreams
from mcp.client.stdio import get_default_environment, stdio_client
from mcp.os.posix.utilities import terminate_posix_process_tree
from mcp.shared.message import SessionMessage

STDERR_TAIL_LINES = 20
_LINE_CHARS = 500
_EXIT_GRACE_SECONDS = 2.0  # for the child to exit on its own once its stdin closes (as the SDK waits)
_STDERR_DRAIN_SECONDS = 1.0  # for the rest of a dead child's stderr to arrive
_POLL_SECONDS = 0.01
_QUIET = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError)


@dataclass
class ChildRecord:
    """What is known about one child process: its pid, how it ended, and the end of its stderr."""

    pid: int | None = None
    returncode: int | None = None
    exited_on_its_own: bool = False
    """It closed its stdout and exited before the session ended (not stopped by us)."""
    lines: deque[str] = field(default_factory=lambda: deque[str](maxlen=STDERR_TAIL_LINES))
    _partial: str = ""

    def feed(self, text: str) -> None:
        """Take a chunk of the child's stderr: pass it on to ours and keep its last lines."""
        sys.stderr.write(text)
        sys.stderr.flush()
        *complete, self._partial = (self._partial + text).split("\n")
        self.lines.extend(line.rstrip()[:_LINE_CHARS] for line in complete if line.strip())
        if len(self._partial) > _LINE_CHARS:  # a child writing without newlines still shows something
            self.lines.append(self._partial[:_LINE_CHARS])
            self._partial = ""

    def stderr_tail(self) -> str:
        """The last lines the child wrote to stderr, oldest first."""
        pending = [self._partial.rstrip()] if self._partial.strip() else []
        return "\n".join([*self.lines, *pending])

    def describe_exit(self) -> str | None:
        """'exited with code 3' or 'was killed by SIGKILL' for a child that ended on its own; else None."""
        code = self.returncode
        if code is None or not self.exited_on_its_own:
            return None
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with code {code}"


@asynccontextmanager
async def stdio_transport(
    params: StdioServerParameters, record: ChildRecord
) -> AsyncGenerator[TransportStreams]:
    """Start ``params`` as a child process and yield the session's streams; ``record`` is filled in as it runs."""
    if sys.platform == "win32":  # pragma: no cover - the SDK's transport handles Windows job objects
        async with stdio_client(params) as streams:
            yield streams
        return
    process = await anyio.open_process(
        [params.command, *params.args],
        env=get_default_environment() | (params.env or {}),
        cwd=params.cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so stopping it stops what it started
    )
    record.pid = process.pid
    to_session, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, from_session = anyio.create_memory_object_stream[SessionMessage](0)
    stderr_done, stdout_closed = anyio.Event(), anyio.Event()

    async def read_stdout() -> None:
        assert process.stdout is not None
        delivering, buffer = True, ""
        async with to_session:
            with suppress(*_QUIET):
                async for chunk in TextReceiveStream(
                    process.stdout, encoding=params.encoding, errors=params.encoding_error_handler
                ):
                    *lines, buffer = (buffer + chunk).split("\n")
                    for line in lines:
                        if not delivering or not line.strip():
                            continue  # once the session is gone, keep draining so the child can exit
                        try:
                            await to_session.send(_parse(line))
                        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                            delivering = False
                stdout_closed.set()  # the child closed it: it has exited, or is about to

    async def write_stdin() -> None:
        assert process.stdin is not None
        try:
            async with from_session:
                async for message in from_session:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await process.stdin.send(data.encode(params.encoding, params.encoding_error_handler))
        except _QUIET:
            await to_session.aclose()  # the child stopped reading: let the session see the end

    async def read_stderr() -> None:
        assert process.stderr is not None
        try:
            with suppress(*_QUIET):
                async for chunk in TextReceiveStream(process.stderr, errors="replace"):
                    record.feed(chunk)
        finally:
            stderr_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(read_stdout)
        tg.start_soon(write_stdin)
        tg.start_soon(read_stderr)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(
                shield=True
            ):  # the child must be stopped even when the caller is cancelled
                read_stream.close()
                write_stream.close()
                if stdout_closed.is_set():
                    record.exited_on_its_own = await _exited(process, _EXIT_GRACE_SECONDS)
                await _stop(process)
                record.returncode = process.returncode
                with anyio.move_on_after(_STDERR_DRAIN_SECONDS):
                    await stderr_done.wait()
                for stream in (process.stdout, process.stderr):
                    if stream is not None:
                        with suppress(*_QUIET):
                            await stream.aclose()
            tg.cancel_scope.cancel()


def _parse(line: str) -> SessionMessage | Exception:
    """One stdout line as a message, or the parse error as a value for the session to report."""
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:
        return exc


async def _stop(process: Process) -> None:
    """Close stdin, give the child a grace period to exit, then terminate its whole process group."""
    assert process.stdin is not None
    with suppress(*_QUIET):
        await process.stdin.aclose()
    if not await _exited(process, _EXIT_GRACE_SECONDS):
        await terminate_posix_process_tree(process)
        await _exited(process, _EXIT_GRACE_SECONDS)


async def _exited(process: Process, seconds: float) -> bool:
    """Whether the child exited within ``seconds``. Polled, not ``process.wait()``: that also waits for the pipes
    to close, which a grandchild holding them would delay, and no event tells when the exit status arrives."""
    with anyio.move_on_after(seconds):
        while process.returncode is None:  # noqa: ASYNC110
            await anyio.sleep(_POLL_SECONDS)
    return process.returncode is not None
