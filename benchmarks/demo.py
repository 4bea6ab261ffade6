"""What one demo delegation costs: ``uv run python -m benchmarks.demo [--model local:0.5b]``.

Runs the README's demo request through the real CLI (three levels of stdio processes) and prints, per phase, the
model calls, tokens, tool calls and wall time it took.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from clients.cli import DEMO_REQUEST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local")
    parser.add_argument("--request", default=DEMO_REQUEST)
    args = parser.parse_args()
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "clients.cli",
        "demo",
        "--json",
        "--model",
        args.model,
        "--request",
        args.request,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if not done.stdout.strip().startswith("{"):
        sys.exit(f"demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    rows = [("level", "status", "model calls", "tokens in", "tokens out", "tool calls", "seconds")]
    for phase in result["phases"]:
        u = phase["usage"]
        rows.append(
            (
                f"{phase['manager']}: {phase['phase']}",
                phase["status"],
                str(u["llm_calls"]),
                str(u["input_tokens"]),
                str(u["output_tokens"]),
                str(u["tool_calls"]),
                f"{u['wall_seconds']:.1f}",
            )
        )
    u = result["usage"]
    rows.append(
        (
            "whole delegation",
            result["status"],
            str(u["llm_calls"]),
            str(u["input_tokens"]),
            str(u["output_tokens"]),
            str(u["tool_calls"]),
            f"{u['wall_seconds']:.1f}",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(
        f"model {args.model}; {wall:.1f}s including process start-up; files: {[a['path'] for a in result['artifacts']]}"
    )


if __name__ == "__main__":
    main()
