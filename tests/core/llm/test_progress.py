"""Progress of the model download as a user sees it: plain lines off a terminal (a host's log, CI), a bar on one."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import anyio
import pytest

from echelon.servers.core.llm._model_files import KnownModel

from ._fake_index import FakeIndex

pytestmark = pytest.mark.anyio

# ensure_model's default reporter, or the one prepare_local_model picks for stderr.
_SCRIPT = """
import json, sys
from echelon.servers.core.llm._model_files import KnownModel, ensure_model
from echelon.servers.core.llm._progress import reporter_for
model = KnownModel(**json.loads(sys.argv[1]))
if sys.argv[3] == "default":
    ensure_model(model, index_url=sys.argv[2])
else:
    with reporter_for().download("downloading " + model.title) as report:
        ensure_model(model, index_url=sys.argv[2], progress=report)
"""


def command(fake_model: KnownModel, index: FakeIndex, mode: str) -> list[str]:
    return [sys.executable, "-c", _SCRIPT, json.dumps(asdict(fake_model)), index.url, mode]


@pytest.mark.parametrize("mode", ["default", "chosen for stderr"])
def test_off_a_terminal_the_download_reports_plain_lines_with_size_rate_and_time_left(
    cache: Path, index: FakeIndex, fake_model: KnownModel, mode: str
) -> None:
    index.delay = 0.2  # three parts over more than half a second: a measurable rate
    env = {**os.environ, "ECHELON_CACHE_DIR": str(cache)}
    done = subprocess.run(
        command(fake_model, index, mode), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    line = r"echelon: downloading Fake model: \d+ k?B of 120 kB \((\d+)%\), \d+ k?B/s(, \d+ s left)? \(part \d/3\)"
    assert lines and all(re.fullmatch(line, text) for text in lines), lines
    percents = [int(re.fullmatch(line, text).group(1)) for text in lines]  # pyright: ignore[reportOptionalMemberAccess]
    assert percents == sorted(percents) and percents[-1] == 100
    assert any("left" in text for text in lines[:-1]) and "left" not in lines[-1]


async def test_on_a_terminal_the_download_shows_a_progress_bar(
    cache: Path, index: FakeIndex, fake_model: KnownModel
) -> None:
    controller, terminal = pty.openpty()
    env = {**os.environ, "ECHELON_CACHE_DIR": str(cache), "COLUMNS": "120", "TERM": "xterm"}
    try:
        with anyio.fail_after(60):
            process = await anyio.open_process(
                command(fake_model, index, "chosen for stderr"), stderr=terminal, env=env
            )
            await process.wait()
        os.close(terminal)
        terminal = -1
        shown = b""
        while chunk := await anyio.to_thread.run_sync(_read, controller):
            shown += chunk
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    assert process.returncode == 0, shown
    text = shown.decode(errors="replace")
    assert "downloading Fake model" in text
    assert "━" in text  # the bar
    assert re.search(r"120(\.0)?/120(\.0)? kB", text)  # bytes done of the total
    assert "part 3/3" in text


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO once the other side is closed and drained
        return b""
