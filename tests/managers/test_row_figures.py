"""A manager's answer that names one row of a result and gives it another row's figure goes back once, saying whose
figure it is (policy ``row_figures``), through a real in-process manager and SQL worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from echelon.servers.core.testing import ScriptedModel
from tests.managers.test_lookups import run_phase

pytestmark = pytest.mark.anyio

RANKING = {
    "name": "Least",
    "worker": "sql",
    "goals": "The customer who spent the least",
    "tool": "aggregate",
    "arguments": {"measure": "sum(orders.total)", "period": "all", "group_by": ["customer"], "limit": 1},
}


async def test_an_answer_giving_one_customer_anothers_figure_is_sent_back_and_the_corrected_one_kept(
    tmp_path: Path,
) -> None:
    model = ScriptedModel(
        [
            {"step": RANKING},
            {"answer": "Ada spent the least, 1200.", "goal_met": True},  # Cy's total, the top of the ranking
            {"answer": "Ada spent the least, 880.", "goal_met": True},
        ]
    )
    result = await run_phase(tmp_path, model, "Which customer spent the least?")
    model.assert_consumed()
    (call,) = result.calls()
    assert call.result is not None and "last_in_order" in str(
        call.result
    )  # the other end of the ranking: Ada
    sent_back = str(model.requests[-1].messages[-1].content)
    assert "1200 beside Ada" in sent_back and "of Cy" in sent_back and "value 880" in sent_back
    assert result.status == "ok" and "880" in result.output


async def test_an_answer_mixing_rows_up_every_time_ends_the_phase_partial_saying_why(tmp_path: Path) -> None:
    wrong = {"answer": "Ada spent the least, 1200.", "goal_met": True}
    model = ScriptedModel([{"step": RANKING}, wrong, wrong, wrong])  # a synthesis is asked 3 times
    result = await run_phase(tmp_path, model, "Which customer spent the least?")
    model.assert_consumed()
    assert result.status == "partial"
    assert any(e.kind == "synthesis" and "the answer gives" in e.message for e in result.errors), (
        result.errors
    )
    assert "Ada spent the least, 1200." not in result.output
