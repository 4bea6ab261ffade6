"""The question set, answered by the hierarchy and by a flat agent on the same model, side by side.

    uv run python -m benchmarks.questions --model local --half dev --system both [--only ID ...] [--json out.json]

Each question runs through the hierarchy (``echelon ask --json`` in a subprocess: orchestrator, managers, workers,
as a user runs it) and then through the flat agent (one model with every demo worker's tools, ``_flat``), so load
on the machine hits both alike. Every answer is judged against the answer its oracle computes from the generated
demo data. Prints one line per question and system, then per system and half the hit rate, wall time and model
calls; ``--json`` writes everything (answers, expected answers, reasons, date, model, commit).

``--model`` is any model name echelon takes: ``local`` (one shared local server for both systems),
``openai:NAME`` with ``OPENAI_BASE_URL`` set to any OpenAI-compatible server, ``anthropic:NAME``, or
``python:module:factory``. Both systems get ``--deadline`` seconds as their own deadline and answer with what they
have by then; a question that crashes, or whose hierarchy runs 30 s past it, counts as wrong.
Judge a change on ``--half heldout``; ``dev`` is the half to look at while working.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio

import echelon.examples
from echelon.servers.core.config import load_config

from ._checks import check
from ._decks import decks_made
from ._demo import Demo, OracleError
from ._expected import Expected
from ._flat import MAX_TOOL_CALLS, run_flat
from ._qset import QUESTION_SET, Question, load_questions
from ._report import ROW_HEADER, TOTAL_HEADER, Row, line, row_cells, table, total_cells, totals
from ._runs import System, SystemRun, run_hierarchy

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = Path(echelon.examples.__file__).resolve().with_name("echelon.toml")
WIDTHS = (28, 11, 7, 9, 5, 5, 6, 7, 6, 80)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.questions",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--model", default="local", help="local, openai:NAME (with OPENAI_BASE_URL), ...")
    parser.add_argument("--half", choices=["dev", "heldout", "all"], default="dev")
    parser.add_argument("--system", choices=["hierarchy", "flat", "both"], default="both")
    parser.add_argument("--only", nargs="+", metavar="ID", help="Only these questions (any half)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="Write every result to FILE")
    parser.add_argument("--runs", type=int, default=1, help="Times to run each question (default 1)")
    parser.add_argument("--deadline", type=float, default=600, help="Seconds per question and system")
    parser.add_argument(
        "--max-tool-calls", type=int, default=MAX_TOOL_CALLS, help="The flat agent's tool calls per question"
    )
    parser.add_argument(
        "--list", action="store_true", help="List the questions and expected answers; run none"
    )
    return parser


def select(questions: list[Question], half: str, only: list[str] | None) -> list[Question]:
    """The questions to run: ``only`` (by id, in the given order) or those of ``half``; SystemExit naming
    unknown ids."""
    if only:
        by_id = {q.id: q for q in questions}
        unknown = [i for i in only if i not in by_id]
        if unknown:
            raise SystemExit(f"unknown question ids: {', '.join(unknown)} (see --list)")
        return [by_id[i] for i in only]
    return [q for q in questions if half in ("all", q.half)]


def prepare_model(model: str) -> str | None:
    """Make sure the model can be reached before the first question; for ``local``, start (or find) the one
    shared server and point every process at it. Returns its URL for ``local``."""
    if model.startswith("openai:") and not (
        os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY")
    ):
        raise SystemExit(
            "--model openai:NAME needs OPENAI_BASE_URL (an OpenAI-compatible server) or OPENAI_API_KEY"
        )
    if model != "local" and not model.startswith("local:"):
        return None
    from echelon.servers.core.llm._local_runtime import ENV_URL, ensure_local_server

    spec = model.partition(":")[2] or None
    url = anyio.run(ensure_local_server, spec)
    os.environ[ENV_URL] = url  # the CLI's subprocesses inherit it: both systems use this one server
    return url


def judge(question: Question, expected: Expected, request: str, result: SystemRun, run: int) -> Row:
    decks, notes = decks_made(result.artifacts, result.started_at)
    verdict = check(expected, result.answer, question=request, decks=decks)
    reasons = verdict.reasons + notes
    if result.error:
        reasons.insert(0, f"{result.status}: {result.error.splitlines()[0]}")
    right = verdict.right and result.status not in ("crashed", "timeout")
    return Row(
        id=question.id,
        kind=question.kind,
        half=question.half,
        run=run,
        right=right,
        reasons=reasons,
        result=result,
    )


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def write_json(path: Path, meta: dict[str, Any], questions: list[dict[str, Any]], rows: list[Row]) -> None:
    data = {
        **meta,
        "questions": questions,
        "results": [r.model_dump(mode="json") for r in rows],
        "totals": [t.model_dump(mode="json") for t in totals(rows)] if rows else [],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    demo = Demo.load()
    chosen = select(load_questions(), args.half, args.only)
    try:
        expected = {q.id: q.expected(demo) for q in chosen}
    except OracleError as exc:
        raise SystemExit(f"{QUESTION_SET}: {exc}") from None
    if args.list:
        print(
            table(
                [
                    ("id", "kind", "half", "request", "expected"),
                    *(
                        (
                            q.id,
                            q.kind,
                            q.half,
                            " ".join(q.request(demo).split())[:70],
                            expected[q.id].shown[:70],
                        )
                        for q in chosen
                    ),
                ]
            )
        )
        return
    systems: list[System] = ["hierarchy", "flat"] if args.system == "both" else [args.system]
    url = prepare_model(args.model)
    config = load_config(DEMO_CONFIG)
    meta: dict[str, Any] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "today": demo.today.isoformat(),
        "data_years": list(demo.years),
        "model": args.model,
        "model_server": url,
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain")),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    described = [
        {**q.model_dump(), "request": q.request(demo), "expected": expected[q.id].model_dump()}
        for q in chosen
    ]
    print(
        f"model {args.model}; {len(chosen)} questions x {args.runs} run(s) x {', '.join(systems)}; commit {meta['commit'][:10]}"
    )
    print(line(ROW_HEADER, WIDTHS), flush=True)
    rows: list[Row] = []
    for run in range(1, args.runs + 1):
        for question in chosen:
            request = question.request(demo)
            for system in systems:
                if system == "hierarchy":
                    result = run_hierarchy(
                        request, model=args.model, config=DEMO_CONFIG, deadline=args.deadline
                    )
                else:
                    result = anyio.run(_flat, request, args.model, config, args.deadline, args.max_tool_calls)
                row = judge(question, expected[question.id], request, result, run)
                rows.append(row)
                print(line(row_cells(row), WIDTHS), flush=True)
                if args.json:
                    write_json(args.json, meta, described, rows)
    print()
    print(table([TOTAL_HEADER, *(total_cells(t) for t in totals(rows))]))
    wrong = [r for r in rows if not r.right]
    if wrong:
        print("\nwhy wrong:")
        for r in wrong:
            print(f"  {r.id} ({r.result.system}): {'; '.join(r.reasons)[:300]}")
    if args.json:
        print(f"\nwrote {args.json}")


async def _flat(request: str, model: str, config: Any, deadline: float, max_tool_calls: int) -> SystemRun:
    return await run_flat(
        request, model_name=model, config=config, deadline=deadline, max_tool_calls=max_tool_calls
    )


if __name__ == "__main__":
    main()
