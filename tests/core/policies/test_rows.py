"""``row_figures``: a claim naming one row states that row's figures, not another row's."""

from __future__ import annotations

from typing import Any

import pytest

from echelon.servers.core.envelope import ToolCallRecord
from echelon.servers.core.evidence import result_rows
from echelon.servers.core.policies import RowFigures, RunState, SendBack

RANKING = {
    "groups": [
        {"group": {"region": "Mountain West"}, "value": 100.0, "percent_change": 29.73},
        {"group": {"region": "West"}, "value": 90.0, "percent_change": 12.5},
    ],
    "last_in_order": {"group": {"region": "Southwest"}, "value": 40.0, "percent_change": 3.1},
    "total": 1234.5,
}


def judged(answer: str, result: Any = RANKING, asked: str = "Which region grew fastest?") -> None:
    record = ToolCallRecord(worker="sql", tool="aggregate", result=result)
    RowFigures().check_answer(answer, RunState(given="", records=[record], asked=asked))


def test_the_rows_of_a_result_are_its_objects_holding_a_name_and_a_figure() -> None:
    rows, loose = result_rows([ToolCallRecord(worker="sql", tool="aggregate", result=RANKING)])
    assert [r.names for r in rows] == [("Mountain West",), ("West",), ("Southwest",)]
    assert rows[0].figures == (("value", "100.0"), ("percent_change", "29.73"))
    assert loose == ["1234.5"]


def test_a_figure_of_another_row_beside_a_rows_name_sends_the_answer_back_saying_whose_it_is() -> None:
    with pytest.raises(SendBack) as sent:
        judged("Southwest grew fastest, with a revenue increase of 29.73%.")
    reason = str(sent.value)
    assert "29.73 beside Southwest" in reason and "percent_change of Mountain West" in reason
    assert "Southwest's are value 40.0, percent_change 3.1" in reason


def test_a_rows_own_figures_rounded_or_not_pass() -> None:
    judged("Mountain West grew fastest: revenue up 29.7% to 100.")
    judged("Mountain West grew fastest (29.73%). West followed with 12.5%.")


def test_a_claim_naming_several_rows_is_not_judged_since_it_may_compare_them() -> None:
    judged("West grew 12.5% while Mountain West grew 29.73%, and Southwest 3.1%.")
    judged("Mountain West was ahead of West, 29.73% against 12.5%.")


def test_a_name_inside_a_longer_named_row_is_that_row() -> None:
    judged("Mountain West: 29.73%")


def test_figures_of_no_row_of_the_request_or_of_a_total_are_left_to_other_policies() -> None:
    judged("West made 1234.5 of all revenue.")  # the total of all rows
    judged("West is not in the top 100.", asked="Is West in the top 100?")
    judged("West grew 55.5%.")  # no row holds it: figure_grounding's concern


def test_names_every_row_holds_tell_no_rows_apart() -> None:
    same = {"rows": [{"unit": "EUR", "region": "A1", "v": 10.5}, {"unit": "EUR", "region": "B1", "v": 20.5}]}
    judged("All figures are in EUR, 20.5 at most.", result=same)
    with pytest.raises(SendBack):
        judged("A1 had 20.5.", result=same)


def test_figures_of_all_rows_together_are_no_row_even_when_they_are_named() -> None:
    result = {
        "rows": [{"region": "A1", "change": 29.73}, {"region": "B1", "change": -11.08}],
        "total": {"region": "(all)", "change": 7.55},
    }
    record = ToolCallRecord(worker="sql", tool="compare", result=result, overall_fields=["total"])
    rows, loose = result_rows([record])
    assert [r.names for r in rows] == [("A1",), ("B1",)] and loose == ["7.55"]
