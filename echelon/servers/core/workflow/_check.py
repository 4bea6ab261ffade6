"""Checking a workflow before it runs: its inputs, its graph, its references, its managers and workers, and every
pinned call's arguments against the live ``inputSchema`` of the worker's tool. Each problem names the file, the
node and the field; a workflow with problems runs nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..catalog import WorkerInfo
from ..plan import PlanNode, check_dag
from . import InputSpec, Workflow, WorkflowError
from ._templates import Reference, Scope, UnresolvedReference, conform, references, render, today_values


def resolve_inputs(workflow: Workflow, given: Mapping[str, Any], *, source: str) -> dict[str, Any]:
    """The run's inputs: ``given`` (typed, or text from a command line) over the defaults, each of its declared
    type; WorkflowError naming every missing, unknown or mistyped input."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name in given:
        if name not in workflow.inputs:
            known = ", ".join(workflow.inputs) or "none"
            problems.append(f"{source}: inputs.{name}: not an input of this workflow (its inputs: {known})")
    for name, spec in workflow.inputs.items():
        if name in given:
            try:
                values[name] = coerce(given[name], spec)
            except ValueError as exc:
                problems.append(f"{source}: inputs.{name}: {exc}")
        elif spec.default is not None:
            try:
                values[name] = coerce(
                    render(spec.default, Scope()), spec
                )  # a default may be {{today.last_year}}
            except (ValueError, UnresolvedReference) as exc:
                problems.append(f"{source}: inputs.{name}.default: {exc}")
        else:
            problems.append(
                f"{source}: inputs.{name}: required (no default); pass it, e.g. --input {name}=..."
            )
    if problems:
        raise WorkflowError(problems)
    return values


def coerce(value: Any, spec: InputSpec) -> Any:
    """``value`` as ``spec.type``; text (``--input year=2025``) is read as that type. ValueError says why not."""
    kind = spec.type
    if isinstance(value, str) and kind != "string":
        value = _from_text(value, kind)
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "list": isinstance(value, list),
    }[kind]
    if not ok:
        raise ValueError(f"expected {_article(kind)}, got {json.dumps(value, default=str)}")
    return value


def _from_text(text: str, kind: str) -> Any:
    stripped = text.strip()
    try:
        if kind == "integer":
            return int(stripped)
        if kind == "number":
            return float(stripped)
    except ValueError:
        raise ValueError(f"expected {_article(kind)}, got {text!r}") from None
    if kind == "boolean":
        lowered = stripped.lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"expected a boolean (true or false), got {text!r}")
    if stripped.startswith("["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected a list (JSON, or items separated by commas): {exc}") from None
    return [item.strip() for item in stripped.split(",") if item.strip()]


def _article(kind: str) -> str:
    return {"integer": "an integer", "list": "a list"}.get(kind, f"a {kind}")


def static_problems(workflow: Workflow, workers_of: Mapping[str, list[str]], *, source: str) -> list[str]:
    """Problems that need no server: the graph, the references, the managers and their workers."""
    problems: list[str] = []
    try:
        check_dag(
            [
                PlanNode(name=p.name, worker=p.worker, goals=p.goals, depends_on=p.depends_on)
                for p in workflow.phases
            ],
            kind="phase",
        )
    except ValueError as exc:
        problems.append(f"{source}: phases: {exc}")
    ancestors = _ancestors(workflow)
    if workflow.primary_worker and workflow.primary_worker not in workers_of:
        problems.append(
            f"{source}: primary_worker: {workflow.primary_worker!r} is not a manager ({_listed(workers_of)})"
        )
    for phase in workflow.phases:
        where = f"{source}: phases[{phase.name!r}]"
        if phase.worker not in workers_of:
            problems.append(f"{where}.worker: {phase.worker!r} is not a manager ({_listed(workers_of)})")
        for i, step in enumerate(phase.steps or []):
            if phase.worker in workers_of and step.worker not in workers_of[phase.worker]:
                names = ", ".join(workers_of[phase.worker])
                problems.append(
                    f"{where}.steps[{i}].worker: {step.worker!r} is not a worker of {phase.worker} ({names})"
                )
        if phase.for_each is not None:
            problems += _for_each_problems(workflow, phase.for_each, f"{where}.for_each")
        fields: dict[str, Any] = {"goals": phase.goals, "notes": phase.notes}
        fields |= {f"steps[{i}].arguments": s.arguments for i, s in enumerate(phase.steps or [])}
        for field, value in fields.items():
            for ref in references(value):
                reason = _reference_problem(
                    ref, workflow, phase.name, ancestors, has_item=phase.for_each is not None
                )
                if reason:
                    problems.append(f"{where}.{field}: {{{{{ref.text}}}}}: {reason}")
    return problems


def _listed(workers_of: Mapping[str, list[str]]) -> str:
    return f"managers: {', '.join(workers_of)}"


def _for_each_problems(workflow: Workflow, text: str, where: str) -> list[str]:
    refs = references(text)
    if len(refs) != 1 or refs[0].root != "inputs" or len(refs[0].path) != 1:
        return [f'{where}: must be one list input, as "{{{{inputs.NAME}}}}"']
    spec = workflow.inputs.get(refs[0].path[0])
    if spec is None:
        return [f"{where}: no input {refs[0].path[0]!r}"]
    if spec.type != "list":
        return [f"{where}: input {refs[0].path[0]!r} is {spec.type}, not a list"]
    return []


def _reference_problem(
    ref: Reference, workflow: Workflow, phase: str, ancestors: dict[str, set[str]], *, has_item: bool
) -> str:
    if ref.root == "today":
        known = today_values()
        return "" if len(ref.path) == 1 and ref.path[0] in known else f"use today.{', today.'.join(known)}"
    if ref.root == "inputs":
        if len(ref.path) != 1 or ref.path[0] not in workflow.inputs:
            return f"no such input (inputs: {', '.join(workflow.inputs) or 'none'})"
        return ""
    if ref.root == "item":
        return "" if has_item else "item is only defined in a phase with for_each"
    if ref.root == "phases":
        path = list(ref.path)
        kind = path[1] if len(path) >= 2 else ""
        wrong_steps = kind == "steps" and (len(path) < 4 or path[3] != "data")
        if kind not in ("output", "data", "steps") or (kind == "output" and len(path) > 2) or wrong_steps:
            return "use phases.NAME.output, phases.NAME.data.FIELD or phases.NAME.steps.STEP.data.FIELD"
        if path[0] not in ancestors:
            return f"no phase named {path[0]!r}"
        if path[0] not in ancestors.get(phase, set()):
            return f"phase {phase!r} must depend on {path[0]!r} (directly or not) to use its result"
        return ""
    return "use inputs.NAME, phases.NAME.output, phases.NAME.data.FIELD, item, item.FIELD or today.X"


def _ancestors(workflow: Workflow) -> dict[str, set[str]]:
    """Each phase's transitive dependencies."""
    deps = {p.name: set(p.depends_on) for p in workflow.phases}
    found: dict[str, set[str]] = {}

    def of(name: str, seen: frozenset[str]) -> set[str]:
        if name in found:
            return found[name]
        result: set[str] = set()
        for dep in deps.get(name, set()):
            if dep in seen:
                continue
            result |= {dep} | of(dep, seen | {dep})
        found[name] = result
        return result

    for name in deps:
        of(name, frozenset({name}))
    return found


_UNKNOWN = object()


class _Unknown(Scope):
    """A scope where results of phases (not known before the run) stand as a marker the check skips."""

    def resolve(self, ref: Reference) -> Any:
        if ref.root in ("phases", "item"):
            return _UNKNOWN
        return super().resolve(ref)


def call_problems(
    workflow: Workflow,
    inputs: Mapping[str, Any],
    catalogs: Mapping[str, Mapping[str, WorkerInfo]],
    *,
    source: str,
) -> list[str]:
    """Every pinned call checked against its tool's live input schema (``catalogs``: manager -> worker -> info);
    arguments that come from other phases' results are known only at run time and are not checked here."""
    problems: list[str] = []
    scope = _Unknown(inputs=inputs)
    for phase in workflow.phases:
        for i, step in enumerate(phase.steps or []):
            where = f"{source}: phases[{phase.name!r}].steps[{i}]"
            worker = catalogs.get(phase.worker, {}).get(step.worker)
            if worker is None:
                continue  # reported by static_problems
            if worker.error:
                problems.append(f"{where}.worker: {step.worker!r} is unavailable: {worker.error}")
                continue
            tool = worker.tool(step.tool)
            if tool is None:
                names = ", ".join(t.name for t in worker.tools)
                problems.append(f"{where}.tool: {step.tool!r} is not a tool of {step.worker} ({names})")
                continue
            try:
                arguments = conform(render(step.arguments, scope), tool.input_schema)
            except UnresolvedReference as exc:
                problems.append(f"{where}.arguments: {exc}")
                continue
            from jsonschema import Draft202012Validator  # 27 ms: loaded by the first check, not at start

            for error in Draft202012Validator(tool.input_schema).iter_errors(arguments):
                if _mentions_unknown(arguments, list(error.absolute_path)):
                    continue
                path = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in error.absolute_path)
                problems.append(f"{where}.arguments{path}: {error.message}")
    return problems


def _mentions_unknown(value: Any, path: list[Any]) -> bool:
    """Whether the value at ``path`` holds anything known only at run time (then its errors are not reported)."""
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return False
    return _holds_unknown(value)


def _holds_unknown(value: Any) -> bool:
    if value is _UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_holds_unknown(v) for v in value.values())  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return any(_holds_unknown(v) for v in value)  # pyright: ignore[reportUnknownVariableType]
    return False
