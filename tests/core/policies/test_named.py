"""``keeps_named_values``: when the request names values the data holds, a call that selects rows by value selects
one of them, or groups so that each has its own row."""

from __future__ import annotations

from typing import Any

from echelon.servers.core.policies import Allow, KeepsNamedValues, PendingCall, Refuse, RunState
from echelon.servers.core.tooling import LinkedValue, NamesCandidates, SelectsValues

GREAT_LAKES = LinkedValue(
    value="Great Lakes", selected_by='aggregate filter {"dimension": "region", "value": "Great Lakes"}'
)


def aggregate(**arguments: Any) -> PendingCall:
    return PendingCall(
        "sql",
        "aggregate",
        {"measure": "sum(sales.revenue)", "period": "all", **arguments},
        names_candidates=NamesCandidates(argument="group_by", many=True),
        selects_values=SelectsValues(argument="filters"),
    )


def judged(call: PendingCall, named: list[LinkedValue]) -> Allow | Refuse:
    decision = KeepsNamedValues().before_call(call, RunState(given="", named_values=named))
    assert isinstance(decision, Allow | Refuse)
    return decision


def test_a_call_selecting_none_of_the_named_values_is_refused_with_how_to_select_them() -> None:
    decision = judged(aggregate(), [GREAT_LAKES])
    assert isinstance(decision, Refuse) and not decision.end_tool_calls
    assert GREAT_LAKES.selected_by in decision.reason
    assert "in filters" in decision.reason and "set group_by" in decision.reason


def test_a_call_selecting_a_named_value_is_made_however_it_writes_its_case() -> None:
    selected = aggregate(filters=[{"dimension": "region", "value": "great lakes"}])
    assert isinstance(judged(selected, [GREAT_LAKES]), Allow)


def test_a_grouped_call_is_made_since_each_value_gets_its_own_row() -> None:
    assert isinstance(judged(aggregate(group_by=["region"]), [GREAT_LAKES]), Allow)


def test_without_named_values_or_a_declared_selecting_argument_nothing_is_refused() -> None:
    assert isinstance(judged(aggregate(), []), Allow)
    query = PendingCall("sql", "run_query", {"sql": "SELECT sum(revenue) FROM sales"})
    assert isinstance(judged(query, [GREAT_LAKES]), Allow)
