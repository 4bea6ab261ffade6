"""Workflows: plans a person writes, in a file, run without the StrategicPlanner.

A workflow file (TOML or JSON) has a plan's shape (top-level ``phases``: ``name``, ``worker`` (the manager),
``goals``, ``notes``, ``depends_on``) plus typed ``inputs`` with defaults, references (``{{inputs.NAME}}``,
``{{phases.NAME.output}}``, ``{{phases.NAME.data.FIELD}}``, ``{{item}}``), optional pinned ``steps`` (run as they
are), a pinned ``planner``, ``synthesis = false`` (a phase's answer is its tools' results), ``for_each`` (one copy
of a phase per item of a list input, run in parallel) and ``limits``. A fully pinned workflow makes no model call.
``workflow_schema()`` is the file's JSON Schema (``echelon workflow schema``).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..envelope import AnswerPart
from ..plan import PlannerName, planner_name

InputType = Literal["string", "number", "integer", "boolean", "list"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InputSpec(BaseModel):
    """One input of a workflow."""

    model_config = ConfigDict(extra="forbid")

    type: InputType = "string"
    description: str = ""
    default: Any = None


class PinnedStep(BaseModel):
    """A tool call a phase makes as it is: no model chooses it."""

    model_config = ConfigDict(extra="forbid")

    worker: str = Field(description="A worker of the phase's manager")
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    name: str | None = Field(default=None, description="Default: the tool's name")


class WorkflowPhase(BaseModel):
    """A phase of a workflow."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    worker: str = Field(min_length=1, description="The manager that carries it out")
    goals: str = Field(min_length=1)
    notes: str = ""
    depends_on: list[str] = Field(default_factory=list)
    steps: list[PinnedStep] | None = Field(default=None, description="Pinned steps, run in this order")
    planner: PlannerName | None = None
    synthesis: bool = True
    for_each: str | None = Field(
        default=None, description='One copy per item of a list input: "{{inputs.NAME}}"'
    )

    @field_validator("planner", mode="before")
    @classmethod
    def _planner_alias(cls, value: Any) -> Any:
        return planner_name(value)


class WorkflowLimits(BaseModel):
    """Per-workflow limits (any left out keep the configured value)."""

    model_config = ConfigDict(extra="forbid")

    max_model_calls: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_tool_calls: int | None = Field(default=None, ge=1)
    deadline_seconds: float | None = Field(default=None, gt=0)


class Workflow(BaseModel):
    """A whole workflow file."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    phases: list[WorkflowPhase] = Field(min_length=1)
    primary_worker: str | None = Field(default=None, description="The manager whose answer is the answer")
    rationale: str = ""
    asks_for: list[AnswerPart] = Field(default_factory=list)
    synthesis: bool = Field(
        default=False,
        description="True: one synthesized answer across phases (a model call); else the phases'",
    )
    limits: WorkflowLimits = Field(default_factory=WorkflowLimits)

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, value: dict[str, InputSpec]) -> dict[str, InputSpec]:
        for name in value:
            if not _NAME.match(name):
                raise ValueError(f"input name {name!r} must be letters, digits and underscores")
        return value


class WorkflowError(ValueError):
    """A workflow file with problems; ``problems`` are lines naming the file, the node and the field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def parse_workflow(text: str, *, source: str = "<workflow>") -> Workflow:
    """A workflow from TOML or JSON text (JSON when it starts with '{'); WorkflowError naming every problem."""
    try:
        data: Any = json.loads(text) if text.lstrip().startswith("{") else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WorkflowError([f"{source}: not valid TOML or JSON: {exc}"]) from None
    return validate_workflow(data, source=source)


def validate_workflow(data: Any, *, source: str = "<workflow>") -> Workflow:
    try:
        return Workflow.model_validate(data)
    except ValidationError as exc:
        raise WorkflowError(
            [f"{source}: {_where(data, err['loc'])}: {_message(err)}" for err in exc.errors()]
        ) from None


def load_workflow(path: str | Path) -> Workflow:
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkflowError([f"{file}: cannot read it: {exc.strerror}"]) from None
    return parse_workflow(text, source=str(file))


def _where(data: Any, loc: tuple[int | str, ...]) -> str:
    """A location as a person reads it: ``phases['Revenue'].steps[0].tool`` rather than ``phases.0.steps.0.tool``."""
    parts: list[str] = []
    node: Any = data
    for i, key in enumerate(loc):
        if (
            isinstance(key, int)
            and i > 0
            and loc[i - 1] == "phases"
            and isinstance(node, list)
            and key < len(node)
        ):
            phase: Any = node[key]  # pyright: ignore[reportUnknownVariableType]
            named = phase.get("name") if isinstance(phase, dict) else None  # pyright: ignore[reportUnknownMemberType]
            parts[-1] = f"phases[{named!r}]" if named else f"phases[{key}]"
        elif isinstance(key, int):
            parts[-1] += f"[{key}]"
        else:
            parts.append(str(key))
        node = node[key] if _has(node, key) else None  # pyright: ignore[reportIndexIssue, reportCallIssue, reportArgumentType]
    return ".".join(p for p in parts if not p.startswith(("function-", "union[")))


def _has(node: Any, key: int | str) -> bool:
    return (isinstance(node, dict) and key in node) or (
        isinstance(node, list) and isinstance(key, int) and key < len(node)
    )  # pyright: ignore[reportUnknownArgumentType]


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling)"
    return str(err["msg"]).removeprefix("Value error, ")


def workflow_schema() -> dict[str, Any]:
    """The JSON Schema of a workflow file, for editors."""
    schema = Workflow.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "echelon workflow"
    return schema
