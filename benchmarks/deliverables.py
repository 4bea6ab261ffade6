"""Who should decide whether a request asks for a file, measured on the question set:

    uv run python -m benchmarks.deliverables --model local [--half dev|heldout|all] [--plans] [--json out.json]

For every question it asks the orchestrator's model the yes/no question of ``orchestrator._deliverables`` and, with
``--plans``, also makes the StrategicPlanner's plan and reads its ``asks_for``. The truth is the question's kind:
only ``deck`` questions ask for a file. It prints each question's answers and, per way, how many questions were
decided right, how many plain questions would get a file-making phase (false yes) and how many deck requests
would lose theirs (false no). A plan call is slow on the embedded model (about 30 s); the question is a few.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks._qset import Demo, load_questions
from benchmarks._report import table
from benchmarks.questions import DEMO_CONFIG, prepare_model, select
from echelon.servers.core.config import load_config
from echelon.servers.core.llm import ModelError, resolve_model
from echelon.servers.orchestrator._deliverables import asks_for_file
from echelon.servers.orchestrator.planner import StrategicPlanner


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="local", help="local, openai:NAME (with OPENAI_BASE_URL), ...")
    parser.add_argument("--half", choices=["dev", "heldout", "all"], default="all")
    parser.add_argument("--only", nargs="*", help="question ids")
    parser.add_argument("--plans", action="store_true", help="also plan each request and read its asks_for")
    parser.add_argument("--json", type=Path, help="write every answer to this file")
    return parser


def _score(rows: list[dict[str, Any]], key: str) -> str:
    decided = [r for r in rows if r[key] is not None]
    right = sum(r[key] == r["truth"] for r in decided)
    false_yes = sum(r[key] and not r["truth"] for r in decided)
    false_no = sum(not r[key] and r["truth"] for r in decided)
    return (
        f"{key}: {right}/{len(rows)} right ({len(rows) - len(decided)} undecided), "
        f"{false_yes} plain questions said to ask for a file, {false_no} file requests missed"
    )


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    demo = Demo.load()
    config = load_config(DEMO_CONFIG)
    model = resolve_model(args.model, role="orchestrator", settings=config.models)
    managers = {key: m.description for key, m in config.managers.items()}
    planner = StrategicPlanner(model, max_phases=config.orchestrator.max_phases)
    rows: list[dict[str, Any]] = []
    for question in select(load_questions(), args.half, args.only):
        request = question.request(demo)
        started = time.perf_counter()
        answer, usage = await asks_for_file(model, request)
        row: dict[str, Any] = {
            "id": question.id,
            "half": question.half,
            "truth": question.kind == "deck",
            "question": answer,
            "question_seconds": round(time.perf_counter() - started, 1),
            "question_tokens": usage.input_tokens + usage.output_tokens,
        }
        if args.plans:
            started = time.perf_counter()
            try:
                plan, _ = await planner.plan(request, managers)
                row["plan"] = "file" in plan.asks_for
                row["plan_phases"] = [p.worker for p in plan.phases]
            except ModelError as exc:
                row["plan"], row["plan_error"] = None, str(exc)
            row["plan_seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    await model.aclose()
    return rows


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    prepare_model(args.model)
    rows = anyio.run(run, args)
    shown = ["id", "half", "truth", "question", *(["plan", "plan_phases"] if args.plans else [])]
    print(table([tuple(shown), *(tuple(str(r.get(k, "")) for k in shown) for r in rows)]))
    print(_score(rows, "question"))
    if args.plans:
        print(_score(rows, "plan"))
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
