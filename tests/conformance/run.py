"""Run the MCP conformance suite against our servers over Streamable HTTP and judge it by applicability.toml.

    python3 -m uv run python -m tests.conformance.run [--versions 2026-07-28] [--servers orchestrator] [--out DIR]

Servers, each started on a free port and stopped after: the orchestrator (one manager over the math worker), the
math worker, and the tasks fixture (the orchestrator serving the suite's tasks fixtures as delegations, for the
tasks scenarios). Each runs every scenario the suite requires for a protocol version (``--requirements``), on
2025-11-25 and 2026-07-28; the tasks fixture runs the tasks scenarios on 2026-07-28. A scenario passes when none of
its checks fails but the ones ``applicability.toml`` declares not applicable; a whole scenario declared so is
reported with its reason. Exit status 1 when a scenario that applies fails, or when a server logged a traceback
(the suite makes many ordinary client mistakes, which must never log one).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field

from tests._node import CLIENTS, installed, missing, node
from tests._servers import REPO, http_server

SUITE = ("@modelcontextprotocol/conformance", "dist/index.js")
VERSIONS = ("2025-11-25", "2026-07-28")
ServerName = Literal["orchestrator", "math", "tasks-fixture"]
TASKS_SCENARIOS = (
    "tasks-lifecycle",
    "tasks-capability-negotiation",
    "tasks-wire-fields",
    "tasks-request-state-removal",
    "tasks-request-headers",
    "tasks-dispatch-and-envelope",
    "tasks-status-notifications",
    "tasks-required-task-error",
    "tasks-mrtr-input",
    "tasks-mrtr-composition",
)
FAILED = ("FAILURE",)


class Rule(BaseModel):
    """One entry of applicability.toml."""

    scenario: str
    check: str | None = None
    reason: str
    servers: list[ServerName] | None = None
    versions: list[Literal["2025-11-25", "2026-07-28"]] | None = None

    def covers(self, server: str, version: str, scenario: str, check: str | None = None) -> bool:
        return (
            self.scenario == scenario
            and (self.check is None or self.check == check)
            and (self.servers is None or server in self.servers)
            and (self.versions is None or version in self.versions)
        )


class Applicability(BaseModel):
    not_applicable: list[Rule] = Field(default_factory=list)

    def whole(self, server: str, version: str, scenario: str) -> Rule | None:
        return next(
            (r for r in self.not_applicable if r.check is None and r.covers(server, version, scenario)), None
        )

    def one_check(self, server: str, version: str, scenario: str, check: str) -> Rule | None:
        return next(
            (
                r
                for r in self.not_applicable
                if r.check is not None and r.covers(server, version, scenario, check)
            ),
            None,
        )


@dataclass
class Outcome:
    server: str
    version: str
    scenario: str
    verdict: Literal["pass", "FAIL", "n/a", "skip"]
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    excused: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reason: str = ""
    checks: set[str] = field(default_factory=set)


@dataclass
class Server:
    name: ServerName
    args: list[str]
    versions: tuple[str, ...]
    scenarios: tuple[str, ...] = ()  # empty: the suite's whole list for the version


def hierarchy_config(folder: Path, worker: list[str]) -> Path:
    """An echelon.toml with one manager, ``numbers``, over one worker started as ``python <worker>``."""
    config = folder / f"{worker[-1]}.toml"
    config.write_text(
        f"""
[managers.numbers]
description = "Arithmetic"
workers = ["calc"]

[workers.calc]
command = {json.dumps(sys.executable)}
args = {json.dumps(worker)}
cwd = {json.dumps(str(REPO))}
"""
    )
    return config


def servers(folder: Path) -> list[Server]:
    math = hierarchy_config(folder, ["-m", "echelon.servers.workers.math"])
    calc = hierarchy_config(folder, ["-m", "tests._toy_servers", "calc"])
    return [
        Server("orchestrator", ["-m", "echelon.servers.orchestrator", "--config", str(math)], VERSIONS),
        Server("math", ["-m", "echelon.servers.workers.math"], VERSIONS),
        Server(
            "tasks-fixture",
            ["-m", "tests.conformance.fixture_orchestrator", "--config", str(calc)],
            ("2026-07-28",),
            TASKS_SCENARIOS,
        ),
    ]


async def run_suite(url: str, version: str, scenarios: tuple[str, ...], out: Path) -> None:
    """The suite's whole list for ``version``, or the named scenarios at that version's wire."""
    suite, runner = installed(*SUITE), node()
    assert suite is not None and runner is not None  # main() checked
    base = [str(runner), str(suite), "server", "--url", url, "-o", str(out)]
    commands = (
        [[*base, "--requirements", version]]
        if not scenarios
        else [[*base, "--scenario", s, "--spec-version", version, "--force"] for s in scenarios]
    )
    for command in commands:
        with anyio.fail_after(900):
            await anyio.run_process(
                command, cwd=CLIENTS, check=False
            )  # the verdict is ours, from checks.json


def read_checks(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Scenario name -> its checks, from the suite's output folders (``server-<scenario>-<timestamp>``)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for folder in sorted(out.iterdir()):
        name = re.sub(r"^server-|-\d{4}-\d\d-\d\dT[\d-]+Z$", "", folder.name)
        found[name] = json.loads((folder / "checks.json").read_text())
    return found


def judge(
    server: str, version: str, checks: dict[str, list[dict[str, Any]]], rules: Applicability
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for scenario, results in checks.items():
        whole = rules.whole(server, version, scenario)
        outcome = Outcome(
            server, version, scenario, "n/a" if whole else "pass", reason=whole.reason if whole else ""
        )
        for check in results:
            outcome.checks.add(check["id"])
            label = f"{check['id']}: {(check.get('errorMessage') or '').strip()[:240]}"
            if check["status"] == "SUCCESS":
                outcome.passed += 1
            elif check["status"] == "WARNING":
                outcome.warnings.append(label)
            elif check["status"] in FAILED:
                rule = rules.one_check(server, version, scenario, check["id"])
                (outcome.excused if rule or whole else outcome.failed).append(
                    f"{check['id']}: not applicable: {rule.reason}" if rule else label
                )
        if outcome.failed and not whole:
            outcome.verdict = "FAIL"
        elif not whole and not outcome.passed and not outcome.excused:
            outcome.verdict = "skip"  # the suite checked nothing (it skips the scenario itself)
        outcomes.append(outcome)
    return outcomes


def unused(rules: Applicability, outcomes: list[Outcome]) -> list[Rule]:
    """Rules that matched no scenario or check the suite ran: stale once the suite changed."""
    return [
        rule
        for rule in rules.not_applicable
        if not any(
            rule.covers(o.server, o.version, o.scenario, rule.check)
            and (rule.check is None or rule.check in o.checks)
            for o in outcomes
        )
    ]


def report(outcomes: list[Outcome], tracebacks: dict[str, int], seconds: float) -> bool:
    """Print every scenario's verdict; True when nothing that applies failed."""
    for o in outcomes:
        extra = f" ({len(o.excused)} n/a checks)" if o.excused and o.verdict != "n/a" else ""
        print(f"{o.verdict:>4}  {o.server:<13} {o.version}  {o.scenario}: {o.passed} checks passed{extra}")
        if o.verdict == "n/a":
            print(f"      not applicable: {o.reason}")
        for line in o.failed:
            print(f"      FAILED {line}")
        for line in o.excused if o.verdict != "n/a" else []:
            print(f"      {line}")
        for line in o.warnings:
            print(f"      warning {line}")
    print()
    for (server, version), group in _grouped(outcomes).items():
        counts = {v: sum(1 for o in group if o.verdict == v) for v in ("pass", "FAIL", "n/a")}
        print(
            f"{server:<13} {version}: {counts['pass']} pass, {counts['FAIL']} fail, {counts['n/a']} not applicable"
        )
    for server, count in tracebacks.items():
        print(f"{server}: {count} traceback(s) in its log" if count else f"{server}: no traceback in its log")
    print(f"conformance run: {seconds:.0f} s")
    return not any(o.verdict == "FAIL" for o in outcomes) and not any(tracebacks.values())


def _grouped(outcomes: list[Outcome]) -> dict[tuple[str, str], list[Outcome]]:
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault((o.server, o.version), []).append(o)
    return groups


async def conformance(versions: tuple[str, ...], chosen: set[str] | None, out: Path) -> bool:
    rules = Applicability.model_validate(tomllib.loads((CLIENTS / "applicability.toml").read_text()))
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    tracebacks: dict[str, int] = {}
    env = {
        "ECHELON_RUNS_DATABASE": f"sqlite:///{out / 'runs.sqlite'}",
        "ECHELON_STATE_DIR": str(out / "state"),  # nothing of the user's state or caches is read or written
        "ECHELON_TOOL_CACHE_DIR": str(out / "tool-lists"),
        "ECHELON_MODEL": "python:tests._e2e_model:build_script_runner",  # no model request leaves the machine
        "ECHELON_BLOCK_MODEL_REQUESTS": "1",
        "ECHELON_DEMO_DIR": str(out / "demo"),
        "PYTHONPATH": str(REPO),
    }
    for server in servers(out):
        run_versions = tuple(v for v in server.versions if v in versions)
        if (chosen and server.name not in chosen) or not run_versions:
            continue
        logs: list[str] = []
        # A run database of its own per server: none waits on another's SQLite file or sees its runs.
        own = env | {"ECHELON_RUNS_DATABASE": f"sqlite:///{out / f'{server.name}-runs.sqlite'}"}
        async with http_server(server.args, env=own, output=logs) as url:
            for version in run_versions:
                results = out / f"{server.name}-{version}"
                print(f"running the suite on {server.name} ({url}) at {version} ...", flush=True)
                await run_suite(url, version, server.scenarios, results)
                outcomes += judge(server.name, version, read_checks(results), rules)
        log = "".join(logs)
        (out / f"{server.name}.log").write_text(log)
        tracebacks[server.name] = log.count("Traceback (most recent call last)")
        if tracebacks[server.name]:  # CI keeps no files: show the first one, whose cause the others share
            first = log[log.index("Traceback (most recent call last)") :]
            print(f"{server.name}'s first traceback:\n{first[:4000]}", flush=True)
    if chosen is None and versions == VERSIONS:
        for rule in unused(rules, outcomes):
            print(
                f"applicability.toml: no run matched {rule.scenario}{':' + rule.check if rule.check else ''}"
            )
    return report(outcomes, tracebacks, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--versions", nargs="+", choices=VERSIONS, default=list(VERSIONS))
    parser.add_argument("--servers", nargs="+", choices=["orchestrator", "math", "tasks-fixture"])
    parser.add_argument("--out", type=Path, help="keep the suite's results and the servers' logs here")
    args = parser.parse_args(argv)
    why = missing(*SUITE)
    if why is not None:
        parser.exit(2, f"cannot run the conformance suite: {why}\n")
    with tempfile.TemporaryDirectory(prefix="conformance-") as scratch:
        out = args.out.resolve() if args.out else Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        ok = anyio.run(conformance, tuple(args.versions), set(args.servers) if args.servers else None, out)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
