"""How our servers declare tools, and how they answer a client's ordinary mistakes.

``tool(server, ...)`` registers a function as ``server.tool`` does, with its docstring as the description without
the indentation Python keeps in a docstring's continuation lines (a host shows the description to its model as it
is). ``answer_client_errors(server)`` makes a call of an unknown tool or prompt a JSON-RPC ``-32602`` (Invalid
params) naming what exists, as the specification asks, logged on one line: without it the SDK answers an unknown
prompt with ``-32603`` and logs a traceback at ERROR, and an unknown tool with a tool result.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent
from mcp_types import INVALID_PARAMS
from pydantic import BaseModel, Field

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def description_of(fn: Callable[..., Any]) -> str:
    """The function's docstring as a tool description: no leading or continuation-line indentation."""
    return inspect.cleandoc(fn.__doc__ or "")


FIGURE_ARGUMENTS = "echelon/figure_arguments"
"""A tool's ``_meta`` key listing its arguments that take figures from data (a computation's input series), which
``figure_grounding`` checks against the request and the results: ``meta={FIGURE_ARGUMENTS: ["values"]}``."""

DATA_FIELDS = "echelon/data_fields"
"""A tool's ``_meta`` key listing the fields of its structured result that hold what it found (``["rows",
"overall"]``), apart from those that describe the call (its SQL, its table, its period): the names an answer can
take from the data are read from these only. A tool that declares none has all of its result read."""

OVERALL_FIELDS = "echelon/overall_fields"
"""A tool's ``_meta`` key listing the fields of its result that hold figures of all its rows together (a total, an
average per group), not of any one named row: an answer that names one row must not give it such a figure as its
own (``answers_request``)."""

NAMES_CANDIDATES = "echelon/names_candidates"
"""A tool's ``_meta`` key naming the argument that makes its result name candidates, one row for each (``{"argument":
"group_by", "how": "..."}``, a ``NamesCandidates``): without it the result holds figures that belong to nothing, so
``answers_request`` refuses such a call when the request asks which one, and tells the model what to set."""


LINKS_VALUES = "echelon/links_values"
"""A tool's ``_meta`` key saying it finds the values its data stores that a text names (``{"argument": "text"}``, a
``LinksValues``): a manager calls it with the request before planning, so its planner and steps filter on the
values as the data writes them. Its structured result is a ``LinkedValues`` (other fields are kept, not read)."""

SELECTS_VALUES = "echelon/selects_values"
"""A tool's ``_meta`` key naming the argument in which a call selects rows by their values (``{"argument":
"filters"}``, a ``SelectsValues``): when the request names values the data holds (``LINKS_VALUES``), a call that
selects none of them, and does not group by what they are either, is refused with how to select them
(``keeps_named_values``)."""


class LinksValues(BaseModel):
    """The text argument of a tool that finds the values a text names."""

    argument: str


class SelectsValues(BaseModel):
    """The argument in which a tool's call selects rows by value (a filter)."""

    argument: str


class LinkedValue(BaseModel):
    """A value the data stores that a text names, as stored, and how a call selects it."""

    value: str = Field(description="The value exactly as the data stores it")
    selected_by: str = Field(default="", description="How a call selects it (a filter to pass), for a model")
    grouped_by: list[str] = Field(
        default_factory=list[str],
        description="What a call groups by to give it a row of its own (its dimensions); empty: not said",
    )


class LinkedValues(BaseModel):
    """What a ``LINKS_VALUES`` tool returns: the values its text names."""

    values: list[LinkedValue] = Field(default_factory=list[LinkedValue])


class NamesCandidates(BaseModel):
    """The argument that makes a tool's result name each candidate, and how to rank them with it. A server
    declares ``argument`` and ``how``; discovery adds ``values`` (the argument's allowed values, from its input
    schema) and ``many`` (whether it takes a list)."""

    argument: str
    how: str = ""
    values: list[str] = Field(default_factory=list)
    many: bool = False


def tool(server: MCPServer[Any], **options: Any) -> Callable[[F], F]:
    """``server.tool(**options)``, describing the tool by its dedented docstring unless ``description`` is given."""

    def register(fn: F) -> F:
        options.setdefault("description", description_of(fn))
        server.tool(**options)(fn)
        return fn

    return register


def written_for_models(data: BaseModel, text: str) -> CallToolResult:
    """A tool result in MCP's two forms: ``data`` as the structured content programs check and keep, and ``text``
    as the content a model reads. A tool declares its return as ``Annotated[CallToolResult, DataType]``, so the
    output schema is still ``DataType``'s and the SDK still checks ``data`` against it."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=data.model_dump(mode="json", by_alias=True),
    )


class ClientErrors:
    """Middleware: ``tools/call`` of a tool and ``prompts/get`` of a prompt the server does not have are refused
    with ``-32602`` before any handler runs (an unknown resource the SDK already answers that way)."""

    def __init__(self, server: MCPServer[Any]) -> None:
        self.server = server

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        name = (ctx.params or {}).get("name")
        if ctx.request_id is not None and isinstance(name, str):
            if ctx.method == "tools/call":
                known = [t.name for t in await self.server.list_tools()]
                self._check("tool", name, known, "tools/list")
            elif ctx.method == "prompts/get":
                known = [p.name for p in await self.server.list_prompts()]
                self._check("prompt", name, known, "prompts/list")
        return await call_next(ctx)

    def _check(self, kind: str, name: str, known: list[str], listing: str) -> None:
        if name in known:
            return
        there = (
            f"the {kind}s there are: {', '.join(sorted(known))}" if known else f"this server has no {kind}s"
        )
        logger.info("refused a call of an unknown %s %r", kind, name)
        raise MCPError(code=INVALID_PARAMS, message=f"Unknown {kind}: {name!r} ({listing} shows {there})")


def answer_client_errors(server: MCPServer[Any]) -> MCPServer[Any]:
    """Install ``ClientErrors`` on ``server`` (returned, for chaining)."""
    server.middleware.append(ClientErrors(server))
    return server
