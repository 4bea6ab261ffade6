"""What one demo delegation costs, and how often it is right: ``uv run python -m benchmarks.demo [--runs 3]``.

Runs the README's demo request through the real CLI (three levels of stdio processes) and prints, per phase, the
model calls, tokens, tool calls and wall time of the first run; with ``--runs N`` also one line per run, whether
its answer names the true fastest region (read from the demo database), and the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from echelon.clients.cli import DEMO_REQUEST
from echelon.examples import DATABASE_NAME, demo_dir
from echelon.examples.company import fastest_region


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local")
    parser.add_argument("--request", default=DEMO_REQUEST)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    runs = [run_once(args.model, args.request) for _ in range(args.runs)]
    print_table(phase_rows(runs[0][0]))
    region, growth = fastest_region(demo_dir() / DATABASE_NAME)
    print(f"\ntrue answer: {region}, {growth:+.2f}%")
    rows = [("run", "status", "model calls", "tokens in", "tokens out", "seconds", "right region", "answer")]
    for n, (result, wall) in enumerate(runs, 1):
        u = result["usage"]
        rows.append(
            (
                str(n),
                result["status"],
                str(u["llm_calls"]),
                str(u["input_tokens"]),
                str(u["output_tokens"]),
                f"{wall:.1f}",
                "yes" if region in result["output"] else "NO",
                " ".join(result["output"].split())[:70],
            )
        )
    print_table(rows)
    right = sum(region in r["output"] for r, _ in runs)
    print(
        f"model {args.model}; right {right}/{len(runs)}; median {statistics.median(w for _, w in runs):.1f}s "
        f"per run including process start-up; median model calls "
        f"{statistics.median(r['usage']['llm_calls'] for r, _ in runs):g}"
    )


def run_once(model: str, request: str) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "echelon.clients.cli",
        "demo",
        "--json",
        "--model",
        model,
        "--request",
        request,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if not done.stdout.strip().startswith("{"):
        sys.exit(f"demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout), time.perf_counter() - started


def phase_rows(result: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        ("level", "status", "model calls", "tokens in", "tokens out", "tool calls", "seconds")
    ]
    parts = [(f"{p['manager']}: {p['phase']}", p["status"], p["usage"]) for p in result["phases"]]
    for name, status, u in [*parts, ("whole delegation", result["status"], result["usage"])]:
        rows.append(
            (
                name,
                status,
                str(u["llm_calls"]),
                str(u["input_tokens"]),
                str(u["output_tokens"]),
                str(u["tool_calls"]),
                f"{u['wall_seconds']:.1f}",
            )
        )
    return rows


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
