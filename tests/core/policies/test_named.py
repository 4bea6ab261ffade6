"""``keeps_named_values``: when the request names values the data holds, a call that selects rows by value selects
one of them, or groups so that each has its own row."""

from __future__ import annotations

from typing import Any

from echelon.servers.core.policies import Allow, KeepsNamedValues, PendingCall, Refuse, RunState
from echelon.servers.core.tooling import LinkedValue, NamesCandidates, SelectsValues

GREAT_LAKES = LinkedValue(
    value="Great Lakes",
    selected_by='aggregate filter {"dimension": "region", "value": "Great Lakes"}',
    grouped_by=["region"],
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


def test_a_call_grouped_by_what_the_value_is_is_made_since_it_gets_its_own_row() -> None:
    assert isinstance(judged(aggregate(group_by=["month", "region"]), [GREAT_LAKES]), Allow)


def test_a_call_grouped_by_something_else_reads_every_value_together_and_is_refused() -> None:
    decision = judged(aggregate(group_by=["month"]), [GREAT_LAKES])
    assert isinstance(decision, Refuse) and "set group_by to what it is (region)" in decision.reason
    unsaid = LinkedValue(
        value="Great Lakes"
    )  # a lookup that does not say what shows it: any grouping will do
    assert isinstance(judged(aggregate(group_by=["month"]), [unsaid]), Allow)


def test_without_named_values_or_a_declared_selecting_argument_nothing_is_refused() -> None:
    assert isinstance(judged(aggregate(), []), Allow)
    query = PendingCall("sql", "run_query", {"sql": "SELECT sum(revenue) FROM sales"})
    assert isinstance(judged(query, [GREAT_LAKES]), Allow)
