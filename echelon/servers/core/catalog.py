"""The catalog of a manager's workers: their live tool schemas (discovery), condensed for planners and prompts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

import anyio
from mcp.types import Tool
from pydantic import BaseModel, Field

from .pool import ConnectionFailed, ConnectionPool, SessionLost
from .tooling import (
    DATA_FIELDS,
    FIGURE_ARGUMENTS,
    LINKS_VALUES,
    NAMES_CANDIDATES,
    OVERALL_FIELDS,
    SELECTS_VALUES,
    LinksValues,
    NamesCandidates,
    SelectsValues,
)


class ToolInfo(BaseModel):
    """One worker tool as the planners see it."""

    name: str
    description: str = ""
    signature: str = Field(description="name(arg: type, optional?: type)")
    input_schema: dict[str, Any] = Field(default_factory=dict)
    read_only: bool = Field(
        default=False,
        description="The server marks it read-only (readOnlyHint): its arguments are queries or expressions, "
        "not content, so they are not checked for figures",
    )
    idempotent: bool = Field(default=False, description="The server marks it idempotent (idempotentHint)")
    figure_arguments: list[str] = Field(
        default_factory=list,
        description=f"Arguments whose figures are data, not constants (the tool's _meta {FIGURE_ARGUMENTS!r}): "
        "figure_grounding checks them even on a read-only tool",
    )
    data_fields: list[str] = Field(
        default_factory=list,
        description=f"Fields of its result that hold what it found (the tool's _meta {DATA_FIELDS!r}); empty: all",
    )
    overall_fields: list[str] = Field(
        default_factory=list,
        description=f"Fields of its result with figures of all rows together (the tool's _meta {OVERALL_FIELDS!r})",
    )
    links_values: LinksValues | None = Field(
        default=None,
        description=f"Its text argument, when it finds the values a text names (the tool's _meta {LINKS_VALUES!r})",
    )
    names_candidates: NamesCandidates | None = Field(
        default=None,
        description=f"The argument that makes its result name each candidate (the tool's _meta {NAMES_CANDIDATES!r})",
    )
    selects_values: SelectsValues | None = Field(
        default=None,
        description=f"The argument in which it selects rows by value (the tool's _meta {SELECTS_VALUES!r})",
    )


class WorkerInfo(BaseModel):
    """A worker, its tools, and why it is unavailable if it is."""

    name: str
    description: str = ""
    instructions: str = Field(default="", description="The server's own instructions on how to use it")
    tools: list[ToolInfo] = Field(default_factory=list)
    error: str | None = None

    def tool(self, name: str) -> ToolInfo | None:
        return next((t for t in self.tools if t.name == name), None)

    def writes_content(self, tool: str | None) -> bool:
        """Whether a call of ``tool`` puts its arguments into something a user will read (a deck, a message, a
        file), so figures in them must come from the data. Queries and expressions of read-only tools are not
        checked: their constants (``LIMIT 10``, ``* 100``) are no claims."""
        info = self.tool(tool) if tool else None
        return info is not None and not info.read_only


def _type_name(schema: dict[str, Any]) -> str:
    if "type" in schema:
        kind = schema["type"]
        if kind == "array" and isinstance(schema.get("items"), dict):
            return f"list[{_type_name(schema['items'])}]"
        return kind if isinstance(kind, str) else "|".join(kind)
    if "anyOf" in schema:
        return "|".join(_type_name(s) for s in schema["anyOf"] if s.get("type") != "null")
    if "$ref" in schema:
        return "object"
    return "any"


def signature(tool: Tool) -> str:
    """A compact one-line signature from a tool's input schema."""
    props: dict[str, Any] = tool.input_schema.get("properties", {})
    required = set(tool.input_schema.get("required", []))
    args = [
        f"{name}{'' if name in required else '?'}: {_type_name(schema)}" for name, schema in props.items()
    ]
    return f"{tool.name}({', '.join(args)})"


def to_info(tool: Tool) -> ToolInfo:
    return ToolInfo(
        name=tool.name,
        description=" ".join((tool.description or "").split()),
        signature=signature(tool),
        input_schema=dict(tool.input_schema),
        read_only=bool(tool.annotations and tool.annotations.read_only_hint),
        idempotent=bool(tool.annotations and tool.annotations.idempotent_hint),
        figure_arguments=_declared_names((tool.meta or {}).get(FIGURE_ARGUMENTS)),
        data_fields=_declared_names((tool.meta or {}).get(DATA_FIELDS)),
        overall_fields=_declared_names((tool.meta or {}).get(OVERALL_FIELDS)),
        names_candidates=_names_candidates(tool),
        links_values=_declared_argument(tool, LINKS_VALUES, LinksValues),
        selects_values=_declared_argument(tool, SELECTS_VALUES, SelectsValues),
    )


_Declaration = TypeVar("_Declaration", LinksValues, SelectsValues, NamesCandidates)


def _declared_argument(tool: Tool, key: str, model: type[_Declaration]) -> _Declaration | None:
    """The tool's ``_meta`` ``key``, a declaration naming one of its arguments, as ``model``; None when it declares
    none, or names an argument its input schema does not have."""
    try:
        declared = model.model_validate((tool.meta or {}).get(key))
    except ValueError:
        return None
    return declared if declared.argument in tool.input_schema.get("properties", {}) else None


def _names_candidates(tool: Tool) -> NamesCandidates | None:
    """The tool's declared candidates argument with its allowed values from the input schema; None when it
    declares none, or one its schema does not have."""
    found = _declared_argument(tool, NAMES_CANDIDATES, NamesCandidates)
    if found is None:
        return None
    schema = tool.input_schema.get("properties", {}).get(found.argument)
    if not isinstance(schema, dict):
        return None
    values, many = _allowed(cast(dict[str, Any], schema))
    return found.model_copy(update={"values": values, "many": many})


def _allowed(schema: dict[str, Any]) -> tuple[list[str], bool]:
    """An argument's allowed string values (its enum, or its items' enum; through ``anyOf``) and whether it is a
    list."""
    if isinstance(schema.get("enum"), list):
        return [v for v in schema["enum"] if isinstance(v, str)], False
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _allowed(schema["items"])[0], True
    for option in schema.get("anyOf", []):
        if isinstance(option, dict) and option.get("type") != "null":
            return _allowed(cast(dict[str, Any], option))
    return [], False


def _declared_names(value: Any) -> list[str]:
    """A ``_meta`` list of names (arguments, result fields); anything else declares none."""
    if not isinstance(value, list):
        return []
    return [str(v) for v in value if isinstance(v, str)]  # pyright: ignore[reportUnknownVariableType]


async def discover(
    pool: ConnectionPool, workers: dict[str, str], only_tools: Mapping[str, list[str]] | None = None
) -> dict[str, WorkerInfo]:
    """Read every worker's tools (only those ``only_tools`` allows, when it names the worker): from the pool's tool
    cache when it has them, else by starting the worker (all concurrently); a worker that fails to start, or
    whose allow-list names a tool it lacks, is reported, not fatal."""
    infos: dict[str, WorkerInfo] = {}
    only_tools = only_tools or {}

    async def one(name: str, description: str) -> None:
        cached = await pool.cached_listing(name)
        if cached is not None:  # the worker starts when a step calls it, not to be planned for
            tools, instructions = cached.tools, cached.instructions
        else:
            try:
                tools = await pool.list_tools(name)
                instructions = (await pool.session(name)).instructions or ""
            except (ConnectionFailed, SessionLost, OSError) as exc:
                infos[name] = WorkerInfo(name=name, description=description, error=str(exc))
                return
        allowed = only_tools.get(name)
        if allowed is not None:
            missing = sorted(set(allowed) - {t.name for t in tools})
            if missing:
                error = (
                    f"its tools allow-list names {', '.join(map(repr, missing))}, which it does not have "
                    f"(its tools: {', '.join(t.name for t in tools)})"
                )
                infos[name] = WorkerInfo(name=name, description=description, error=error)
                return
            tools = [t for t in tools if t.name in allowed]
        infos[name] = WorkerInfo(
            name=name,
            description=description,
            instructions=" ".join(instructions.split())[:2000],
            tools=[to_info(t) for t in tools],
        )

    async with anyio.create_task_group() as tg:
        for name, description in workers.items():
            tg.start_soon(one, name, description)
    return {name: infos[name] for name in workers}


def render_catalog(infos: dict[str, WorkerInfo]) -> str:
    """Workers and their tool signatures, one line each: planners choose workers, and a short catalog keeps a small
    model's prompt (and its prompt-processing time) small. Step execution sees the full tool schemas."""
    lines: list[str] = []
    for info in infos.values():
        head = f"- {info.name}" + (f" ({info.description})" if info.description else "")
        if info.error:
            lines.append(f"{head}: UNAVAILABLE ({info.error})")
        else:
            lines.append(f"{head}: {', '.join(t.signature for t in info.tools)}")
    return "\n".join(lines)
