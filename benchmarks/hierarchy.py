"""Hierarchy overheads, measured (not asserted), each side by side with its baseline in the same run:

    uv run --group bench python -m benchmarks.hierarchy [--runs N] [--calls M] [--json FILE]

Baseline and subject samples are taken in turn (baseline, subject, baseline, ...), ``--runs`` rounds for what
spawns processes and ``--calls`` for warm calls; each row shows both medians (min-max), their ratio and the target.

1. readiness: spawn -> tools/list of the orchestrator vs a bare MCP server (target <= 1.2x);
2. tools/list bytes: the orchestrator's vs every demo worker's together (target <= 10%);
3. cold first delegation on a toy hierarchy (empty tool cache) vs spawning its three servers one by one
   (target <= 1.0x), and whether it started any process it did not need;
4. warm delegate through three levels vs three raw stdio calls to the worker (target <= 3x), and the CPU time
   each level spends per delegate;
5. four independent 1 s phases in one delegate: wall time (target <= 1.25 s);
6. result bytes of a 5-row query's DelegationResult vs the tool result;
7. RSS and PSS of the demo hierarchy (``benchmarks.memory``; target RSS < 600 MB);
8. 20 concurrent delegates over Streamable HTTP: p50 and p95 vs one delegate alone, and the errors;
9. the peer: a FastMCP proxy over the same four demo workers: readiness, tools/list bytes, a warm call vs direct.

Every process is started here and stopped here; the run database and tool cache live in a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import anyio

from . import _hops, _http_load, _peer, _sizes
from ._measure import Row, Target, table_lines, write_json
from ._procs import ROOT


async def measure(runs: int, calls: int, memory_runs: int, tmp: Path) -> list[Row]:
    """Every row, in the order of the module's list."""
    peers = _peer.peers(tmp)
    others = {} if peers is None else {"mounted": peers.mounted, "one config": peers.one_config}
    bare, orchestrator, proxies = await _hops.readiness(runs, others)
    rows = [Row("readiness (spawn->tools/list)", orchestrator, bare, Target(1.2))]
    workers = await _sizes.worker_bytes()
    rows.append(await _sizes.tools_list(workers))
    warm = await _hops.warm(calls, runs, tmp)  # before the cold runs: it also creates the run database
    rows += await _hops.cold(runs, tmp)
    rows += warm
    rows.append(await _hops.parallel(runs, tmp))
    rows.append(await _sizes.result_bytes(tmp))
    rows += await _sizes.memory(memory_runs)
    rows += await _http_load.concurrent(runs, tmp)
    if peers is None:
        rows += _peer.skipped_rows()
    else:
        rows += _peer.readiness_rows(bare, proxies["mounted"], proxies["one config"])
        rows.append(await _peer.tools_list(peers.mounted, workers))
        rows.append(await _peer.warm_call(calls, peers.mounted, "peer warm call, mounted"))
        # One config starts every worker per request (~seconds a call): as many calls as spawning rounds.
        rows.append(await _peer.warm_call(runs, peers.one_config, "peer warm call, one config"))
    return rows


def about(runs: int, calls: int, memory_runs: int) -> dict[str, Any]:
    """When, where and on what the figures were measured."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cpu_count": os.cpu_count(),
        "runs": runs,
        "calls": calls,
        "memory_runs": memory_runs,
    }


async def main_async(runs: int, calls: int, memory_runs: int, json_file: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="echelon-bench-") as folder:
        tmp = Path(folder)
        # Every level this benchmark starts inherits these: its own run database and tool cache.
        os.environ["ECHELON_RUNS_DATABASE"] = f"sqlite:///{tmp / 'runs.sqlite'}"
        os.environ["ECHELON_TOOL_CACHE_DIR"] = str(tmp / "tool-lists")
        rows = await measure(runs, calls, memory_runs, tmp)
    info = about(runs, calls, memory_runs)
    print("\n".join(table_lines(rows)))
    print(
        f"(median (min-max); {runs} interleaved rounds of what spawns, {calls} of warm calls; "
        f"{info['cpu_count']} cores; {info['date']}; commit {str(info['commit'])[:12]})"
    )
    if json_file is not None:
        write_json(json_file, rows, info)
        print(f"wrote {json_file}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="rounds of what spawns processes (default 5)")
    parser.add_argument("--calls", type=int, default=30, help="pairs of warm calls (default 30)")
    parser.add_argument(
        "--memory-runs", type=int, default=1, help="measurements of the demo's memory (default 1)"
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="FILE", help="also write every sample here"
    )
    args = parser.parse_args()
    anyio.run(main_async, args.runs, args.calls, args.memory_runs, args.json)


if __name__ == "__main__":
    main()
