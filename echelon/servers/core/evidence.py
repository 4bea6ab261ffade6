"""What the tools returned, as text a model reads: the evidence a step, a synthesis or a later phase works from.

Whoever reads a step's outcome sees what the tools said, not only a model's summary of it (a small model's summary
can drop or garble figures). Every level renders tool results through these functions, from the typed trace.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from .envelope import Artifact, ToolCallRecord, clip, result_as_text

# Keys under which tools conventionally return their collection: when it is empty, the tool found nothing.
COLLECTION_KEYS = ("rows", "results", "items", "matches", "groups", "documents", "records")


def has_data(result: Any) -> bool:
    """Whether a tool result holds anything: not empty, and not an empty collection (no rows, no matches). A
    collection whose items hold nothing but nulls (``[{"group": {}, "value": null}]``: a total over a period with
    no rows) is empty too: it found nothing, and nothing in it is a figure to report."""
    if result is None or result == {} or result == [] or result == "":
        return False
    if isinstance(result, dict):
        found = [result.get(key) for key in COLLECTION_KEYS]  # pyright: ignore[reportUnknownMemberType]
        return not any(isinstance(value, list) and not any(map(_holds_a_value, value)) for value in found)  # pyright: ignore[reportUnknownArgumentType]
    return True


def _holds_a_value(item: Any) -> bool:
    """Whether ``item`` has a leaf that is not null (an empty object or list has none)."""
    if isinstance(item, dict):
        return any(_holds_a_value(v) for v in item.values())  # pyright: ignore[reportUnknownVariableType]
    if isinstance(item, list):
        return any(_holds_a_value(v) for v in item)  # pyright: ignore[reportUnknownVariableType]
    return item is not None


def with_data(calls: Iterable[ToolCallRecord]) -> list[ToolCallRecord]:
    """The successful calls whose results hold data."""
    return [c for c in calls if c.outcome == "ok" and has_data(c.result if c.result is not None else c.text)]


def own_text(call: ToolCallRecord) -> str | None:
    """The text the tool wrote for a model beside its structured result (MCP's ``content``), when it wrote one
    rather than the result's JSON: shorter and labelled, the best way to show a model what the tool returned."""
    if call.result is None or not call.text or call.text == result_as_text(call.result):
        return None
    return call.text


def call_data_text(call: ToolCallRecord, limit: int = 1500) -> str:
    """One call's result as a prompt line."""
    shown = call.result if call.result is not None else call.text
    body = shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False, default=str)
    return f"\nData returned by {call.tool}: {clip(own_text(call) or body, limit)}"


def evidence_text(calls: Sequence[ToolCallRecord], *, last: int = 3, limit: int = 1500) -> str:
    """The last ``last`` successful, non-empty results of ``calls`` as prompt lines."""
    return "".join(call_data_text(c, limit) for c in with_data(calls)[-last:])


def data_values(calls: Iterable[ToolCallRecord]) -> tuple[list[str], list[str]]:
    """The strings and the numbers (as text) inside the successful calls' structured results: what an answer may
    name or cite as coming from the data. Of a tool that declares which fields hold what it found
    (``ToolCallRecord.data_fields``), only those are read: its SQL, table name or period say what was asked, not
    what was found. A result field that repeats the call's argument of the same name (an aggregate's
    ``group_by: ["region"]``, its ``measure``) echoes the request and is left out: an answer that repeats it names
    nothing the tools found, e.g. "The region with the largest growth is 'region_name'"."""
    strings: list[str] = []
    numbers: list[str] = []
    for call in with_data(calls):
        found_strings, found_numbers = _leaves(_found(call))
        strings += found_strings
        numbers += found_numbers
    return strings, numbers


def _found(call: ToolCallRecord) -> Any:
    """What ``call`` found: its result, only the fields its tool declares hold data, less those echoing its
    arguments (``data_values``)."""
    found = call.result if call.result is not None else call.text
    if isinstance(found, dict) and call.data_fields:
        found = {k: v for k, v in found.items() if k in call.data_fields}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(found, dict):
        found = {k: v for k, v in found.items() if k not in call.arguments or call.arguments[k] != v}  # pyright: ignore[reportUnknownVariableType]
    return found


def row_and_overall_values(calls: Iterable[ToolCallRecord]) -> tuple[list[str], list[str], list[str]]:
    """Of the calls whose tools declare fields of all rows together (``ToolCallRecord.overall_fields``): the names
    and figures of their rows, and the figures of all rows together."""
    names: list[str] = []
    row_numbers: list[str] = []
    overall: list[str] = []
    for call in with_data(calls):
        found = _found(call)
        if not call.overall_fields or not isinstance(found, dict):
            continue
        rows, of_all = _split_overall(call, found)  # pyright: ignore[reportUnknownArgumentType]
        found_names, found_numbers = _leaves(rows)
        names += found_names
        row_numbers += found_numbers
        overall += _leaves(of_all)[1]
    return names, row_numbers, overall


def _split_overall(call: ToolCallRecord, found: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``found`` without, and with only, the fields ``call``'s tool declares hold figures of all rows together."""
    return (
        {k: v for k, v in found.items() if k not in call.overall_fields},
        {k: v for k, v in found.items() if k in call.overall_fields},
    )


class Row(NamedTuple):
    """One row a tool found: its names (string leaves) and figures (number leaves, by field)."""

    names: tuple[str, ...]
    figures: tuple[tuple[str, str], ...]
    """Each figure as ``(field, number as text)``."""


def result_rows(calls: Iterable[ToolCallRecord]) -> tuple[list[Row], list[str]]:
    """The rows inside what ``calls`` found, and the figures found outside any row (a total of all rows, a count).
    A row is an object holding a name and a figure and no list (a group of a ranking, the one-row answer of a
    look-up); objects inside lists, or beside lists, are rows each. The fields a tool declares hold figures of all
    rows together (``ToolCallRecord.overall_fields``) are no row, whatever they name ("(all)")."""
    rows: list[Row] = []
    loose: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            fields: dict[str, Any] = item  # pyright: ignore[reportUnknownVariableType]
            if not _holds_list(fields):
                names, figures = _fields(fields)
                if names and figures:
                    rows.append(Row(tuple(names), tuple(figures)))
                    return
            for inner in fields.values():
                walk(inner)
        elif isinstance(item, list):
            for inner in item:  # pyright: ignore[reportUnknownVariableType]
                walk(inner)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            loose.append(str(item))

    for call in with_data(calls):
        found = _found(call)
        if isinstance(found, dict) and call.overall_fields:
            found, of_all = _split_overall(call, found)  # pyright: ignore[reportUnknownArgumentType]
            loose += _leaves(of_all)[1]
        walk(found)
    return rows, loose


def _holds_list(value: dict[str, Any]) -> bool:
    return any(
        isinstance(v, list) or (isinstance(v, dict) and _holds_list(v))  # pyright: ignore[reportUnknownArgumentType]
        for v in value.values()
    )


def _fields(value: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The string leaves and the (field, number) leaves of an object without lists."""
    names: list[str] = []
    figures: list[tuple[str, str]] = []
    for key, item in value.items():
        if isinstance(item, dict):
            inner_names, inner_figures = _fields(item)  # pyright: ignore[reportUnknownArgumentType]
            names += inner_names
            figures += inner_figures
        elif isinstance(item, str) and item.strip():
            names.append(item.strip())
        elif isinstance(item, int | float) and not isinstance(item, bool):
            figures.append((key, str(item)))
    return names, figures


def _leaves(value: Any) -> tuple[list[str], list[str]]:
    """The string and number leaves of JSON data (numbers as text), in order."""
    strings: list[str] = []
    numbers: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, bool) or item is None:
            return
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, int | float):
            numbers.append(str(item))
        elif isinstance(item, dict):
            for inner in item.values():  # pyright: ignore[reportUnknownVariableType]
                walk(inner)
        elif isinstance(item, list):
            for inner in item:  # pyright: ignore[reportUnknownVariableType]
                walk(inner)

    walk(value)
    return strings, numbers


def find_artifacts(value: Any) -> list[Artifact]:
    """Files a tool reported: any object with a ``path`` and a ``mime_type`` inside its structured content."""
    found: list[Artifact] = []
    if isinstance(value, dict):
        if isinstance(value.get("path"), str) and isinstance(value.get("mime_type"), str):
            found.append(
                Artifact.model_validate({k: v for k, v in value.items() if k in Artifact.model_fields})  # pyright: ignore[reportUnknownVariableType]
            )
        else:
            for item in value.values():  # pyright: ignore[reportUnknownVariableType]
                found.extend(find_artifacts(item))
    elif isinstance(value, list):
        for item in value:  # pyright: ignore[reportUnknownVariableType]
            found.extend(find_artifacts(item))
    return found


def unbacked_answer(calls: Sequence[ToolCallRecord], limit: int = 300) -> str:
    """What to say when no tool call returned data and the answer a model wrote did not pass the checks: that
    the answer is not known here, and why (the last call's error)."""
    made = sum(1 for c in calls if c.outcome != "refused")
    refused = len(calls) - made
    last = calls[-1] if calls else None
    why = f" The last call, {last.worker}.{last.tool}: {clip(last.error or last.text, limit)}" if last else ""
    counted = f"{made} made, {refused} refused" if refused else f"{made} made"
    return f"Not known: no tool call returned data for it ({counted}, none with data).{why}"


def data_answer(calls: Sequence[ToolCallRecord], *, rows: int = 10, limit: int = 1500) -> str:
    """The last data-bearing result of ``calls`` as text a person reads (rows as a Markdown table, other fields as
    ``name: value`` lines): the answer to give when no answer a model wrote passed the checks, so the reader gets
    the data rather than text a policy refused. Empty when no call returned data."""
    found = with_data(calls)
    if not found:
        return ""
    call = found[-1]
    shown = call.result if call.result is not None else call.text
    return f"No written answer passed the checks; what {call.worker}.{call.tool} returned:\n" + clip(
        own_text(call) or _readable(shown, rows), limit
    )


def _readable(value: Any, rows: int) -> str:
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):  # pyright: ignore[reportUnknownVariableType]
        return _table(value, rows)  # pyright: ignore[reportUnknownArgumentType]
    if not isinstance(value, dict):
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    lines: list[str] = []
    for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
        if isinstance(item, list) and item and all(isinstance(v, dict) for v in item):  # pyright: ignore[reportUnknownVariableType]
            lines.append(_table(item, rows))  # pyright: ignore[reportUnknownArgumentType]
        elif item not in (None, [], {}, ""):
            text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, default=str)
            lines.append(f"{key}: {text}")
    return "\n".join(lines)


def _flat(item: dict[str, Any]) -> dict[str, Any]:
    """A row with its object-valued fields spread into columns: ``{"group": {"month": "2025-07"}, "value": 5}``
    reads as ``month | value``; a nested name that a top-level field already uses keeps its parent's prefix."""
    flat: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, dict):
            for inner, cell in value.items():  # pyright: ignore[reportUnknownVariableType]
                name = str(inner)  # pyright: ignore[reportUnknownArgumentType]
                flat[f"{key}.{name}" if name in item or name in flat else name] = cell
        else:
            flat[key] = value
    return flat


def _table(items: list[dict[str, Any]], rows: int) -> str:
    items = [_flat(item) for item in items]
    columns = list(dict.fromkeys(key for item in items[:rows] for key in item))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for item in items[:rows]:
        cells = [_cell(item.get(c)) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    if len(items) > rows:
        lines.append(f"({len(items) - rows} more rows)")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("|", "\\|").replace("\n", " ")
