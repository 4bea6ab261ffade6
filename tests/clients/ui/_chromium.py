"""Headless Chromium driven over its DevTools protocol on a pipe (``--remote-debugging-pipe``).

Chromium reads protocol messages from fd 3 and writes them to fd 4, each JSON message ended by a NUL byte, so no
websocket (and no library) is needed. The client is blocking; async tests call it through ``anyio.to_thread``.
Chromium is started in a process group of its own, which is killed when the block ends.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# Without the background-networking flags Chromium reaches out to Google services on start.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
]


# Run first in the child: puts the pipe ends where Chromium looks for them (fds 3 and 4), then becomes Chromium.
# (A shell would do, but dash cannot name a descriptor above 9.)
_PLACE_FDS = """
import os, sys
commands, replies = int(sys.argv[1]), int(sys.argv[2])
os.dup2(commands, 3)
os.dup2(replies, 4)
for fd in {commands, replies} - {3, 4}:
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class ProtocolError(Exception):
    """Chromium answered a command with an error, or the page's script threw."""


class Chromium:
    """One headless browser; ``open(url)`` gives a page session to evaluate in and screenshot."""

    def __init__(self, executable: str, folder: Path, *, width: int = 1500, height: int = 1000) -> None:
        self.executable, self.folder = executable, folder
        self.width, self.height = width, height
        self.log = folder / "chromium.log"
        self._next = 0
        self._buffer = b""
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Chromium:
        commands_r, self._commands = os.pipe()
        self._replies, replies_w = os.pipe()
        args = [
            *FLAGS,
            f"--user-data-dir={self.folder / 'profile'}",
            f"--window-size={self.width},{self.height}",
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _PLACE_FDS,
                    str(commands_r),
                    str(replies_w),
                    self.executable,
                    *args,
                    "about:blank",
                ],
                pass_fds=(commands_r, replies_w),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        os.close(commands_r)
        os.close(replies_w)
        return self

    def __exit__(self, *_exc: object) -> None:
        with contextlib.suppress(ProtocolError, OSError, TimeoutError):
            self.call("Browser.close", timeout=10)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        # Renderer and helper processes are in Chromium's group: none may outlive the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        os.close(self._commands)
        os.close(self._replies)

    # -- the protocol --------------------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        """Send one command and give its result; events that arrive meanwhile are kept in ``events``."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline, method)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise ProtocolError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_for_event(self, method: str, *, session: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self.events.remove(event)
                    return event
            self.events.append(self._receive(deadline, method))

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._replies], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"Chromium did not answer {waiting_for} in time (its log: {self.log})")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise ProtocolError(
                    f"Chromium closed its pipe (exit {self.process.poll()}; its log: {self.log})"
                )
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(raw)
        return parsed

    # -- pages ---------------------------------------------------------------------------------------------------

    def open(self, url: str) -> str:
        """A new page at ``url``, loaded; its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session: str = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_for_event("Page.loadEventFired", session=session)
        return session

    def evaluate(self, session: str, expression: str, *, timeout: float = 60) -> Any:
        """The value of ``expression`` in the page (a promise is awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=session,
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            thrown = details.get("exception", {}).get("description") or details.get("text")
            raise ProtocolError(f"the page's script failed: {thrown}")
        return result["result"].get("value")

    def screenshot(self, session: str, path: Path) -> bytes:
        data = base64.b64decode(
            self.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        )
        path.write_bytes(data)
        return data
