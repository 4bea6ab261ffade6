"""What a manager's models read of earlier phases: the tools' data, and plainly what was not found."""

from __future__ import annotations

from echelon.servers.core.contracts import PhaseContext, PriorResult
from echelon.servers.core.envelope import PhaseResult, StepResult, ToolCallRecord, result_as_text
from echelon.servers.managers._prompts import context_text


def record(tool: str, result: dict[str, object]) -> ToolCallRecord:
    return ToolCallRecord(worker="sql", tool=tool, result=result, text=result_as_text(result))


def test_a_later_phase_sees_an_earlier_phases_tool_data_not_only_its_summary() -> None:
    calls = [
        record("run_query", {"columns": ["n"], "rows": []}),
        record("compare_periods", {"groups": [{"group": "North", "to": 1500}]}),
    ]
    phase = PhaseResult(
        phase="Growth",
        manager="data",
        output="North grew fastest.",
        goal_met=True,
        steps=[StepResult(step="Query", worker="sql", calls=calls)],
    )
    text = context_text(PhaseContext(request="r", prior=[PriorResult.of(phase)]))
    assert text == (
        "Result of phase 'Growth' (data):\nNorth grew fastest.\n"
        'Data returned by compare_periods: {"groups": [{"group": "North", "to": 1500}]}'
    )


def test_a_later_phase_is_told_plainly_what_an_earlier_phase_could_not_find() -> None:
    prior = PriorResult(phase="Growth", manager="data", output="No data.", missing="revenue per category")
    assert context_text(PhaseContext(prior=[prior])) == (
        "Result of phase 'Growth' (data):\nNo data.\nIts goals were NOT met; missing: revenue per category"
    )


def test_a_phase_without_earlier_results_says_none() -> None:
    assert context_text(PhaseContext()) == "(none)"


def test_a_step_reads_the_user_s_own_request_before_the_planners_restatement_of_it() -> None:
    from echelon.servers.core.plan import PlanNode, Step
    from echelon.servers.managers._prompts import step_prompt

    request = "What does this query compute? SELECT region, SUM(revenue) FROM sales GROUP BY region"
    phase = PlanNode(name="Explain", worker="data", goals="Explain the query")
    step = Step(name="Explain it", worker="sql", goals="Say what the query computes")
    text = step_prompt(step, phase, PhaseContext(request=request), {}, "")
    assert text.startswith(f"The user's request (this step does only its own part of it): {request}\n")
    assert "Goals: Say what the query computes" in text
