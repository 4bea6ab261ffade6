"""``echelon ui`` served for real and opened in headless Chromium while a run executes.

The run goes on in this process's in-process hierarchy, writing to the test's run database; ``echelon ui`` is a
subprocess reading the same database; Chromium loads the page and its script polls the app. The test reads the
page's DOM after the script ran, and saves screenshots (``running.png``, ``finished.png`` in the test's folder).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests._servers import REPO, stop
from tests.clients._sample_runs import two_phase_run
from tests.clients.ui._chromium import Chromium, find_chromium

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@asynccontextmanager
async def echelon_ui(folder: Path) -> AsyncGenerator[str]:
    """``echelon ui --port 0`` as a subprocess (it inherits the test's run database); its URL; stopped after."""
    log = (folder / "ui.log").open("wb")
    process = await anyio.open_process(
        [sys.executable, "-m", "echelon.clients.cli", "ui", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stderr=log,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert process.stdout is not None
        said = b""
        while b"\n" not in said:
            said += await process.stdout.receive()
        line = said.decode().splitlines()[0]
        assert line.startswith("echelon ui: http://127.0.0.1:"), line
        yield line.split()[2]
    finally:
        with anyio.CancelScope(shield=True):
            await stop(process)
            log.close()


def until(condition: str, what: str) -> str:
    """A page expression: a promise of ``condition``'s value once it is truthy, polled every 100 ms; it rejects
    with what the page shows after 60 s (the test's own deadline bounds it too)."""
    return f"""new Promise((resolve, reject) => {{
      const started = Date.now();
      const check = () => {{
        let value = null;
        try {{ value = ({condition})(); }} catch (e) {{ value = null; }}
        if (value) return resolve(value);
        if (Date.now() - started > 60000)
          return reject(new Error({json.dumps(what)} + "; the page shows: " + document.body.innerText.slice(0, 3000)));
        setTimeout(check, 100);
      }};
      check();
    }})"""


GRAPH = """() => [...document.querySelectorAll('#graph [data-node]')].map((n) => [n.dataset.node, n.dataset.state])"""

WHILE_RUNNING = f"""() => {{
  const deck = document.querySelector('[data-node="phase:Deck"]');
  const compute = document.querySelector('[data-node="phase:Compute"]');
  const call = compute && compute.querySelector('[data-call="calc.add"]');
  if (!deck || deck.dataset.state !== "running" || !call || !deck.querySelector('.activity')) return null;
  window.loadedOnce = true;  // gone if the page reloads
  return {{
    graph: ({GRAPH})(),
    listed: [...document.querySelectorAll('#runs [data-run]')].map((a) => a.dataset.run),
    edges: document.querySelectorAll('#graph svg.edges path[marker-end]').length,
    status: document.querySelector('#run-status').dataset.status,
    deckPill: deck.querySelector('.pill').textContent,
    activity: deck.querySelector('.activity').textContent,
    step: compute.querySelector('[data-step]').textContent,
    call: call.textContent,
    runningBar: Boolean(document.querySelector('#timeline [data-row="Deck"] .bar.s-running')),
    updates: Number(document.body.dataset.updates),
  }};
}}"""

WHEN_FINISHED = f"""() => {{
  if (document.querySelector('#run-status').dataset.status !== "ok") return null;
  const deck = document.querySelector('[data-node="phase:Deck"] [data-call="deck.make_deck"]');
  if (!deck) return null;
  document.querySelector('[data-node="phase:Compute"] [data-call="calc.add"]').click();
  return {{
    graph: ({GRAPH})(),
    reloaded: !window.loadedOnce,
    details: document.querySelector('#details').innerText,
    answer: document.querySelector('#answer').textContent,
    updates: Number(document.body.dataset.updates),
  }};
}}"""


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_echelon_ui_in_chromium_shows_the_plan_graph_a_running_phase_and_a_finished_steps_tool_call(
    tmp_path: Path,
) -> None:
    executable = find_chromium()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it when missing)")
    gate = anyio.Event()
    with anyio.fail_after(180):
        async with two_phase_run(tmp_path, gate=gate) as (_client, run_id), echelon_ui(tmp_path) as url:
            with Chromium(executable, tmp_path) as browser:
                page = await anyio.to_thread.run_sync(browser.open, f"{url}#run={run_id}")

                async def evaluate(expression: str) -> Any:
                    return await anyio.to_thread.run_sync(
                        lambda: browser.evaluate(page, expression, timeout=90)
                    )

                running = await evaluate(until(WHILE_RUNNING, "the Deck phase running"))
                running_png = await anyio.to_thread.run_sync(
                    browser.screenshot, page, tmp_path / "running.png"
                )
                gate.set()
                finished = await evaluate(until(WHEN_FINISHED, "the run finished ok"))
                await evaluate("new Promise((resolve) => requestAnimationFrame(() => resolve(true)))")
                finished_png = await anyio.to_thread.run_sync(
                    browser.screenshot, page, tmp_path / "finished.png"
                )

    # The plan as a graph: plan → Compute → Deck → answer, with an edge for each dependency.
    assert running["graph"] == [
        ["plan", "ok"],
        ["phase:Compute", "ok"],
        ["phase:Deck", "running"],
        ["answer", "waiting"],
    ]
    assert running["edges"] == 3
    assert running["listed"] == [run_id]  # the list of runs beside it
    # The live status of the running phase, in the graph and on the timeline, while the run is running.
    assert running["status"] == "running" and running["deckPill"] == "running"
    assert (
        running["activity"].startswith("planning steps") and running["runningBar"]
    )  # (heartbeats add "still running")
    # The finished phase's step and its tool call, with arguments and result.
    assert running["step"].startswith("Add › calc")
    assert running["call"] == 'calc.add(a=2, b=3) → {"value":5}'
    # Then, without reloading, the page follows the run to its end; the tool call's details show what went in
    # and what came out.
    assert not finished["reloaded"] and finished["updates"] > running["updates"]
    assert finished["graph"] == [
        ["plan", "ok"],
        ["phase:Compute", "ok"],
        ["phase:Deck", "ok"],
        ["answer", "ok"],
    ]
    details = finished["details"]
    assert details.startswith("calc.add") and "Input: arguments" in details and '"a": 2' in details
    assert '"value": 5' in details
    assert finished["answer"].startswith("2 + 3 = 5")
    for data in (running_png, finished_png):
        assert png_size(data) == (1500, 1000)
        assert len(data) > 40_000  # a rendered page of boxes and text, not a blank one
