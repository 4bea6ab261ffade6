"""``{{...}}`` references in a workflow: ``{{inputs.NAME}}``, ``{{phases.NAME.output}}``,
``{{phases.NAME.data.FIELD}}`` (a dotted path into the phase's structured result: its last successful call's),
``{{phases.NAME.steps.STEP.data.FIELD}}`` (one step's), ``{{item}}`` (a ``for_each``
copy's item, ``{{item.FIELD}}`` into it) and ``{{today.date|year|last_year|year_before_last}}`` (so a default such as
"last year" never goes stale).

A value that is exactly one reference becomes the referenced value itself (an integer stays an integer, a list a
list); a reference inside longer text is written into it as text (JSON for lists and objects).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][\w.\- ]*?)\s*\}\}")


class UnresolvedReference(ValueError):
    """A reference that does not resolve; the message says which and why."""


@dataclass(frozen=True)
class Reference:
    """One parsed reference: its root (``inputs``, ``phases``, ``item``) and the path after it."""

    text: str
    root: str
    path: tuple[str, ...]

    @property
    def phase(self) -> str | None:
        return self.path[0] if self.root == "phases" and self.path else None


def parse(text: str) -> Reference:
    parts = tuple(p.strip() for p in text.split("."))
    return Reference(text=text, root=parts[0], path=parts[1:])


def references(value: Any) -> list[Reference]:
    """Every reference in ``value`` (strings, and the strings inside lists and objects)."""
    if isinstance(value, str):
        return [parse(m.group(1)) for m in REFERENCE.finditer(value)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in references(v)]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]  # pyright: ignore[reportUnknownVariableType]
    return []


@dataclass
class Scope:
    """What references resolve against: the inputs, the finished phases (output and data), the current item."""

    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    item: Any = None
    has_item: bool = False

    def resolve(self, ref: Reference) -> Any:
        if ref.root == "today":
            days = today_values()
            if len(ref.path) != 1 or ref.path[0] not in days:
                raise UnresolvedReference(f"{{{{{ref.text}}}}}: use today.{', today.'.join(days)}")
            return days[ref.path[0]]
        if ref.root == "inputs":
            if len(ref.path) != 1 or ref.path[0] not in self.inputs:
                raise UnresolvedReference(f"{{{{{ref.text}}}}}: no input {'.'.join(ref.path)!r}")
            return self.inputs[ref.path[0]]
        if ref.root == "item":
            if not self.has_item:
                raise UnresolvedReference(
                    f"{{{{{ref.text}}}}}: item is only defined in a phase with for_each"
                )
            return _walk(self.item, ref.path, ref.text)
        if ref.root == "phases" and len(ref.path) >= 2:
            name, kind = ref.path[0], ref.path[1]
            if name not in self.outputs:
                raise UnresolvedReference(f"{{{{{ref.text}}}}}: phase {name!r} has no result here")
            if kind == "output" and len(ref.path) == 2:
                return self.outputs[name]
            if kind == "data":
                return _walk(self.data.get(name), ref.path[2:], ref.text)
            if kind == "steps" and len(ref.path) >= 4 and ref.path[3] == "data":
                steps = self.steps.get(name, {})
                if ref.path[2] not in steps:
                    known = ", ".join(steps) or "none"
                    raise UnresolvedReference(
                        f"{{{{{ref.text}}}}}: phase {name!r} has no step {ref.path[2]!r} ({known})"
                    )
                return _walk(steps[ref.path[2]], ref.path[4:], ref.text)
        raise UnresolvedReference(
            f"{{{{{ref.text}}}}}: use inputs.NAME, phases.NAME.output, phases.NAME.data.FIELD, "
            "phases.NAME.steps.STEP.data.FIELD, item or item.FIELD"
        )


def today_values(today: date | None = None) -> dict[str, Any]:
    """What ``{{today.X}}`` gives: the date (ISO) and years relative to it (integers)."""
    day = today or date.today()
    return {
        "date": day.isoformat(),
        "year": day.year,
        "last_year": day.year - 1,
        "year_before_last": day.year - 2,
    }


def _walk(value: Any, path: tuple[str, ...], text: str) -> Any:
    for key in path:
        if isinstance(value, dict) and key in value:
            value = value[key]  # pyright: ignore[reportUnknownVariableType]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):  # pyright: ignore[reportUnknownArgumentType]
            value = value[int(key)]  # pyright: ignore[reportUnknownVariableType]
        else:
            raise UnresolvedReference(f"{{{{{text}}}}}: there is no {key!r} there")
    return value


def render(value: Any, scope: Scope) -> Any:
    """``value`` with every reference replaced (see the module docstring)."""
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value.strip())
        if whole:
            return scope.resolve(parse(whole.group(1)))
        return REFERENCE.sub(lambda m: _as_text(scope.resolve(parse(m.group(1)))), value)
    if isinstance(value, dict):
        return {k: render(v, scope) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [render(v, scope) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def conform(value: Any, schema: Any) -> Any:
    """``value`` with numbers and booleans written as text where ``schema`` (a tool's input schema) wants text
    and nothing else: ``period = "{{inputs.year}}"`` gives the integer 2025, and a tool taking ``"2025"`` gets it."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props: dict[str, Any] = schema["properties"]  # pyright: ignore[reportUnknownVariableType]
        return {k: conform(v, props.get(k)) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [conform(v, schema["items"]) for v in value]  # pyright: ignore[reportUnknownVariableType]
    options: list[Any] = schema.get("anyOf") or [schema]  # pyright: ignore[reportUnknownVariableType]
    types = {o.get("type") for o in options if isinstance(o, dict)}  # pyright: ignore[reportUnknownVariableType]
    if (
        isinstance(value, bool | int | float)
        and "string" in types
        and not types & {"integer", "number", "boolean"}
    ):
        return json.dumps(value)
    return value
