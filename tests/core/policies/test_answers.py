"""answers_request: an answer states the figure or the name the request asks for, from what the tools found."""

from __future__ import annotations

from typing import Any

import pytest

from echelon.servers.core.envelope import ToolCallRecord
from echelon.servers.core.evidence import data_values
from echelon.servers.core.policies import AnswersTheRequest, RunState, SendBack, build_policies
from echelon.servers.core.policies._answers import ranked_values


def growth_call() -> ToolCallRecord:
    """An aggregate call whose result echoes its own arguments (the group-by name, the years) next to the data."""
    arguments: dict[str, Any] = {"measure": "sum(sales.revenue)", "group_by": ["region"], "period": 2025}
    result = {
        "measure": "sum(sales.revenue)",
        "group_by": ["region"],
        "period": 2025,
        "rows": [{"group": {"region": "Lakeshore"}, "value": 4321.5, "percent_change": 12.75}],
    }
    return ToolCallRecord.model_validate(
        {"worker": "sql", "tool": "aggregate", "arguments": arguments, "outcome": "ok", "result": result}
    )


def check(answer: str) -> None:
    (policy,) = build_policies(["answers_request"])
    policy.check_answer(
        answer, RunState(given="Which region grew most?", records=[growth_call()], expects=["name", "figure"])
    )


def test_fields_a_result_only_echoes_from_its_arguments_are_not_data() -> None:
    strings, numbers = data_values([growth_call()])
    assert strings == ["Lakeshore"] and numbers == ["4321.5", "12.75"]


def test_an_argument_s_value_the_result_gives_under_its_own_name_is_data() -> None:
    converted = ToolCallRecord.model_validate(
        {
            "worker": "time",
            "tool": "convert_time",
            "arguments": {"source_timezone": "UTC", "time": "14:45"},
            "outcome": "ok",
            "result": {
                "source": {"timezone": "UTC"},
                "target": {"timezone": "Asia/Kolkata", "time": "20:15"},
            },
        }
    )
    assert data_values([converted])[0] == ["UTC", "Asia/Kolkata", "20:15"]


def test_a_placeholder_answer_that_repeats_the_question_s_words_is_sent_back() -> None:
    with pytest.raises(SendBack, match="states none"):
        check("The region with the largest growth is 'region_name', with 'growth_rate' in 2025.")


def test_an_answer_naming_the_data_s_region_and_figure_stands() -> None:
    check("Lakeshore grew most in 2025: revenue 4,321.50, up 12.75%.")


def test_a_figure_a_passage_states_in_words_is_a_figure_the_answer_may_cite() -> None:
    passage = "A: Every product carries a ten-year warranty against defects."
    record = ToolCallRecord(
        worker="docs",
        tool="search",
        arguments={"query": "warranty"},
        outcome="ok",
        result={"hits": [{"id": 9, "score": 3.9, "passage": passage}]},
    )
    state = RunState(given="How long is the warranty?", records=[record], expects=["figure"])
    AnswersTheRequest().check_answer("The warranty lasts 10 years.", state)
    with pytest.raises(SendBack, match="asks for a figure"):
        AnswersTheRequest().check_answer("The warranty lasts a long time.", state)


def test_a_passage_without_figures_asks_no_figure_of_the_answer() -> None:
    record = ToolCallRecord(
        worker="docs",
        tool="read",
        arguments={},
        outcome="ok",
        result={"text": "Returns are accepted in store."},
    )
    state = RunState(given="Where are returns accepted?", records=[record], expects=["figure"])
    AnswersTheRequest().check_answer("Returns are accepted in store.", state)


def comparison_call() -> ToolCallRecord:
    """A comparison whose result says, in a note, which years it compared: the years the question names."""
    result = {
        "period": "2025",
        "compare_to": "2024",
        "rows": [{"group": {"region": "Lakeshore"}, "value": 4321.5, "percent_change": 12.75}],
        "note": "no periods were given: 2025, the last year the table holds, is compared with 2024",
    }
    return ToolCallRecord(worker="sql", tool="aggregate", arguments={}, outcome="ok", result=result)


def test_an_answer_that_restates_the_task_is_sent_back_though_the_data_holds_its_years() -> None:
    state = RunState(
        given="",
        records=[comparison_call()],
        expects=["name", "figure"],
        asked="Which region grew fastest last year?\nFor every region: revenue in 2024 and 2025, largest growth first",
    )
    with pytest.raises(SendBack, match="only repeats words of the question"):
        AnswersTheRequest().check_answer(
            "For every region: revenue in 2024, revenue in 2025 and the percent change, largest growth first",
            state,
        )
    AnswersTheRequest().check_answer("Lakeshore grew fastest: up 12.75% from 2024 to 2025.", state)


def test_an_answer_may_repeat_the_name_a_question_asks_about_when_it_states_a_figure_of_the_data() -> None:
    state = RunState(
        given="",
        records=[comparison_call()],
        expects=["name", "figure"],
        asked="Did Lakeshore grow in 2025?",
    )
    AnswersTheRequest().check_answer("Yes: Lakeshore grew 12.75% in 2025.", state)


def test_an_answer_giving_a_figure_where_the_tools_found_nothing_is_sent_back_even_a_zero() -> None:
    empty = ToolCallRecord(
        worker="sql",
        tool="aggregate",
        arguments={"period": "2023"},
        outcome="ok",
        result={"rows": [{"group": {}, "value": None}], "note": "sales has no row in '2023'"},
    )
    state = RunState(given="", records=[empty], expects=["figure"], asked="What was our revenue in 2023?")
    with pytest.raises(SendBack, match="found no data"):
        AnswersTheRequest().check_answer("Revenue in 2023 was 0.", state)
    AnswersTheRequest().check_answer("The data holds no sales for that year.", state)


def ungrouped_maximum(*, declared: bool = True) -> ToolCallRecord:
    """A maximum over all rows: one figure, with the SQL, table and period that describe the call beside it."""
    result = {
        "measure": "max(sales.revenue)",
        "period": "2025",
        "table": "sales",
        "sql": 'SELECT MAX(t."revenue") AS "value" FROM "sales" AS t',
        "rows": [{"group": {}, "value": 3517.85}],
        "overall": None,
    }
    return ToolCallRecord.model_validate(
        {
            "worker": "sql",
            "tool": "aggregate",
            "arguments": {"measure": "max(sales.revenue)", "period": "last year"},
            "outcome": "ok",
            "result": result,
            "data_fields": ["rows", "overall"] if declared else [],
        }
    )


def test_a_tool_s_declared_data_fields_are_all_an_answer_can_name_from_it() -> None:
    assert data_values([ungrouped_maximum()]) == ([], ["3517.85"])
    strings, _ = data_values([ungrouped_maximum(declared=False)])
    assert "2025" in strings and "sales" in strings


def test_an_answer_naming_a_winner_from_figures_that_name_nothing_is_sent_back() -> None:
    (policy,) = build_policies(["answers_request"])
    state = RunState(
        given="",
        records=[ungrouped_maximum()],
        expects=["name", "figure"],
        asked="Which product sold most in 2025?",
    )
    with pytest.raises(SendBack, match="figures only"):
        policy.check_answer("The product with the highest revenue in 2025 is product_id 1 (3517.85).", state)


def test_a_bare_name_answer_from_figures_that_name_nothing_asks_for_named_results_first() -> None:
    """Asking for the figure first would get the figure restated, and the name would still come from nowhere."""
    (policy,) = build_policies(["answers_request"])
    state = RunState(
        given="", records=[ungrouped_maximum()], expects=["name", "figure"], asked="Which month sold most?"
    )
    with pytest.raises(SendBack, match="figures only"):
        policy.check_answer("2025-06", state)


def test_a_figure_question_answered_from_one_figure_stands() -> None:
    (policy,) = build_policies(["answers_request"])
    state = RunState(
        given="", records=[ungrouped_maximum()], expects=["figure"], asked="What was our largest sale?"
    )
    policy.check_answer("The largest single sale in 2025 brought 3517.85.", state)


@pytest.mark.parametrize(
    "answer", ["July 2025 had the most orders (412).", "Jul 2025: 412 orders", "2025-07, 412"]
)
def test_a_month_the_data_labels_by_its_date_is_named_by_its_month_s_name_too(answer: str) -> None:
    record = ToolCallRecord.model_validate(
        {
            "worker": "sql",
            "tool": "aggregate",
            "arguments": {"measure": "count(orders)", "group_by": ["month(sale_date)"]},
            "outcome": "ok",
            "result": {"rows": [{"group": {"month(sale_date)": "2025-07"}, "value": 412}]},
            "data_fields": ["rows"],
        }
    )
    (policy,) = build_policies(["answers_request"])
    policy.check_answer(answer, RunState(given="", records=[record], expects=["name", "figure"]))


@pytest.mark.parametrize(
    ("asked", "suggested"),
    [
        ("Which month had the most sales?", ["month", "month(created)"]),
        ("In which month did sales peak?", ["month", "month(created)"]),
        ("Which customer segments grew?", ["customer.segment", "customer", "segment"]),
        ("What region sold least?", ["region"]),
        ("What was our slowest month?", ["month", "month(created)"]),
        ("Name the best customer.", ["customer", "customer.segment"]),
        ("How did we do?", []),
    ],
)
def test_the_values_suggested_for_which_one_are_those_naming_what_is_ranked(
    asked: str, suggested: list[str]
) -> None:
    values = [
        "customer",
        "customer.segment",
        "month",
        "month(created)",
        "quarter(month)",
        "region",
        "segment",
        "total",
    ]
    assert ranked_values(values, asked) == suggested


def growth_by_region() -> ToolCallRecord:
    """A comparison cut to its top row, whose overall change differs from that row's."""
    result = {
        "rows": [
            {
                "group": {"region": "Mountain West"},
                "value": 437409.72,
                "previous": 337170.61,
                "percent_change": 29.73,
            }
        ],
        "overall": {"group": {}, "value": 2561617.68, "previous": 2381880.28, "percent_change": 7.55},
    }
    return ToolCallRecord.model_validate(
        {
            "worker": "sql",
            "tool": "aggregate",
            "arguments": {"measure": "sum(sales.revenue)", "group_by": ["region"], "limit": 1},
            "outcome": "ok",
            "result": result,
            "data_fields": ["rows", "overall"],
            "overall_fields": ["overall"],
        }
    )


@pytest.mark.parametrize(
    ("answer", "sent_back"),
    [
        ("Mountain West grew fastest last year with a 7.55% increase.", True),
        ("Mountain West grew fastest last year with a 29.73% increase.", False),
        ("Mountain West grew fastest, 29.73%, against 7.55% for all regions.", False),
    ],
)
def test_a_figure_of_all_rows_given_as_one_named_row_s_own_is_sent_back(answer: str, sent_back: bool) -> None:
    (policy,) = build_policies(["answers_request"])
    state = RunState(
        given="", records=[growth_by_region()], expects=["name", "figure"], asked="Which region grew?"
    )
    if sent_back:
        with pytest.raises(SendBack, match=r"7\.55, which the results state for all rows together"):
            policy.check_answer(answer, state)
    else:
        policy.check_answer(answer, state)
