"""Lookups a manager makes before planning a phase: the values its workers' data stores that the request names.

A worker tool that declares ``tooling.LINKS_VALUES`` (the SQL worker's ``find_values``) is called with the request
and the phase's goals; what it finds ("'Southwest' is regions.name, filter region = 'Southwest'") goes to the step
planner and to every step, so a request about one region, product or category is filtered on it as the data writes
it. The calls are made like any other (budgeted, traced) and kept in the phase's result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from ..core.budget import Budget
from ..core.calls import ToolCaller
from ..core.catalog import WorkerInfo
from ..core.envelope import ToolCallRecord
from ..core.evidence import data_values
from ..core.tooling import LinkedValue, LinkedValues


@dataclass
class Lookups:
    """What the lookups found: the text for prompts, the values (for ``keeps_named_values``), and the calls."""

    text: str = ""
    values: list[LinkedValue] = field(default_factory=list[LinkedValue])
    records: list[ToolCallRecord] = field(default_factory=list[ToolCallRecord])


async def linked_values(
    workers: Mapping[str, WorkerInfo], caller: ToolCaller, budget: Budget, text: str, *, manager: str
) -> Lookups:
    """What the available workers' value-finding tools found in ``text`` (empty when nothing), and the calls."""
    found: list[str] = []
    values: list[LinkedValue] = []
    records: list[ToolCallRecord] = []
    for worker in workers.values():
        if worker.error:
            continue
        for tool in worker.tools:
            if tool.links_values is None:
                continue
            made = await caller.call(
                worker.name,
                tool.name,
                {tool.links_values.argument: text},
                budget=budget,
                manager=manager,
                step="lookup",
            )
            made.record.data_fields = list(tool.data_fields)
            records.append(made.record)
            names, _ = data_values([made.record])
            if made.record.outcome == "ok" and names:
                found.append(made.record.text)
                values += _values(made.record)
    return Lookups("\n".join(found), values, records)


def _values(record: ToolCallRecord) -> list[LinkedValue]:
    """The values a lookup's structured result lists (``tooling.LinkedValues``); none from one of another shape."""
    try:
        return LinkedValues.model_validate(record.result).values
    except ValidationError:
        return []
