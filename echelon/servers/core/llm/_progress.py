"""Progress of the foreground model preparation: a rich bar (bytes, rate, ETA) on a terminal, plain lines otherwise.

A desktop host or a CI log reads stderr as lines, so off a terminal every report is one self-contained line:
what, how much of how much, the rate and the time left, at most every 5% (and at the end).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Generator
from typing import IO, Protocol

ProgressCallback = Callable[[int, int, str], None]
"""``progress(done_bytes, total_bytes, note)``, called as a download advances."""


class Reporter(Protocol):
    """Where preparation reports: one-line messages and a download's progress."""

    def say(self, text: str) -> None: ...

    def download(self, title: str) -> contextlib.AbstractContextManager[ProgressCallback]: ...


def _size(count: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}" if unit == "GB" else f"{count / scale:.0f} {unit}"
    return f"{count:.0f} B"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s"


class PlainReporter:
    """Lines on a stream (stderr by default): ``echelon: <title>: 112 MB of 1.1 GB (10%), 25 MB/s, 40 s left``."""

    def __init__(self, stream: IO[str] | None = None, *, step_percent: int = 5) -> None:
        self.stream = stream
        self.step_percent = step_percent

    def _write(self, line: str) -> None:
        print(line, file=self.stream or sys.stderr, flush=True)

    def say(self, text: str) -> None:
        self._write(f"echelon: {text}")

    @contextlib.contextmanager
    def download(self, title: str) -> Generator[ProgressCallback]:
        started = time.monotonic()
        last = {"step": -1, "done": -1}

        def report(done: int, total: int, note: str) -> None:
            percent = 100 * done // total if total else 100
            step = percent // self.step_percent
            if step == last["step"] and (done < total or done == last["done"]):
                return
            last.update(step=step, done=done)
            elapsed = time.monotonic() - started
            rate = done / elapsed if elapsed > 0 else 0.0
            left = f", {_duration((total - done) / rate)} left" if rate > 0 and done < total else ""
            where = f" ({note})" if note else ""
            self._write(
                f"echelon: {title}: {_size(done)} of {_size(total)} ({percent}%), {_size(rate)}/s{left}{where}"
            )

        yield report


class TerminalReporter:
    """A rich progress bar on a terminal stream (stderr by default); stdout stays clean for results."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stderr, highlight=False)

    def say(self, text: str) -> None:
        self.console.print(f"echelon: {text}", markup=False)

    @contextlib.contextmanager
    def download(self, title: str) -> Generator[ProgressCallback]:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
        )
        with Progress(*columns, console=self.console) as bar:
            task = bar.add_task(title, total=None, note="")

            def report(done: int, total: int, note: str) -> None:
                bar.update(task, completed=done, total=total, note=note)

            yield report


def reporter_for(stream: IO[str] | None = None) -> Reporter:
    """A bar when ``stream`` (default stderr) is a terminal, plain lines otherwise."""
    target = stream or sys.stderr
    isatty = getattr(target, "isatty", None)
    if callable(isatty) and isatty():
        return TerminalReporter(target)
    return PlainReporter(target)
