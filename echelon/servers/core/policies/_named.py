"""``keeps_named_values``: a call reads the rows of the values the request names, not all rows."""

from __future__ import annotations

import json
from typing import ClassVar

from ..tooling import LinkedValue
from ._base import Allow, CallDecision, PendingCall, Policy, Refuse, RunState

MAX_SHOWN = 3


def selects_one(call: PendingCall, named: list[LinkedValue]) -> bool:
    """Whether ``call``'s arguments hold one of the ``named`` values (case aside), wherever they hold it."""
    arguments = json.dumps(call.arguments, ensure_ascii=False, default=str).lower()
    return any(v.value.lower() in arguments for v in named)


def groups_one(call: PendingCall, named: list[LinkedValue]) -> bool:
    """Whether ``call`` groups so that one of the ``named`` values has a row of its own: by one of its dimensions,
    or by anything for a value that does not say what shows it."""
    if call.names_candidates is None:
        return False
    grouping = call.arguments.get(call.names_candidates.argument)
    if not grouping:
        return False
    given = {str(g).lower() for g in (grouping if isinstance(grouping, list) else [grouping])}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return any(not v.grouped_by or given & {d.lower() for d in v.grouped_by} for v in named)


def unselected_reason(call: PendingCall, named: list[LinkedValue]) -> str:
    """Why a call that selects none of the request's values is refused, and how to select them."""
    shown = named[:MAX_SHOWN]
    how = "; ".join(f"{v.value!r}: {v.selected_by}" if v.selected_by else repr(v.value) for v in shown)
    argument = call.selects_values.argument if call.selects_values else "its filter argument"
    grouped = call.names_candidates.argument if call.names_candidates else None
    dimensions = sorted({d for v in shown for d in v.grouped_by})
    what = f" ({' or '.join(dimensions)})" if dimensions else ""
    among = (
        f", or, when the request wants it among all the others (a share, a ranking), set {grouped} to what it "
        f"is{what}"
        if grouped
        else ""
    )
    return (
        f"the request names values the data holds ({how}), and this call selects none of them, so its figures "
        f"are of every row, theirs and all others together: put the one this step is about in {argument} as "
        f"written there{among}"
    )


class KeepsNamedValues(Policy):
    """When the manager's lookups found values the request names (a region, a product, as the data stores them:
    ``RunState.named_values``), a call of a tool that selects rows by value (``tooling.SELECTS_VALUES``) must
    select one of them, or group by (``tooling.NAMES_CANDIDATES``) so that each value gets its own row; otherwise
    it is refused, saying how to select them. A call grouped by something else (each month, of all products) is
    refused too. Without it a step asked about one region read the total of all."""

    name: ClassVar[str] = "keeps_named_values"
    description: ClassVar[str] = "a call selects the values the request names, or groups by them"

    def before_call(self, call: PendingCall, state: RunState) -> CallDecision:
        named = state.named_values
        if not named or call.selects_values is None or selects_one(call, named):
            return Allow()
        if groups_one(call, named):
            return Allow()  # each value, the named ones too, has its own row
        return Refuse(unselected_reason(call, named))
