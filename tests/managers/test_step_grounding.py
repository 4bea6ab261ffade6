"""Figures in a call a step's model makes must come from the data when the call writes content (a deck, a file):
a small model fills bullets with plausible numbers. Queries and expressions of read-only tools are not checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from echelon.servers.core.config import parse_config
from echelon.servers.core.envelope import PhaseResult
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.managers.server import build_server
from tests._toy_servers import build_calc_server, build_deck_server

pytestmark = pytest.mark.anyio

CONTEXT = {
    "request": "Slide the sum",
    "prior": [{"phase": "Sum", "manager": "numbers", "output": "2 + 3 = 5"}],
}


async def run_phase(tmp_path: Path, model: ScriptedModel, planner: str = "decomposer") -> PhaseResult:
    config = parse_config(
        {
            "managers": {
                "office": {"description": "Sums and decks", "workers": ["calc", "deck"], "planner": planner}
            },
            "workers": {"calc": {"command": "calc-server"}, "deck": {"command": "deck-server"}},
        },
        file="toy.toml",
    )
    targets = {
        "calc": Target.in_process(build_calc_server()),
        "deck": Target.in_process(build_deck_server(str(tmp_path))),
    }
    server = build_server(config, "office", model=model, worker_targets=targets)
    phase = {"name": "Work", "worker": "office", "goals": "Present the sum"}
    async with Client(server) as client:
        answer = await client.call_tool("execute_phase", {"phase": phase, "context": CONTEXT})
    assert not answer.is_error, answer.content
    return PhaseResult.model_validate(answer.structured_content)


def one_step(worker: str) -> dict[str, object]:
    return {"plan": {"steps": [{"name": "Do", "worker": worker, "goals": "present the sum"}]}}


async def test_a_deck_call_with_an_invented_figure_is_sent_back_unmade(tmp_path: Path) -> None:
    model = ScriptedModel(
        [
            one_step("deck"),
            tool_call("make_deck", title="Sum up 40%", bullets=["The sum is 5"]),
            tool_call("make_deck", title="Sum", bullets=["The sum is 5"]),
            "Deck written.",
        ]
    )
    result = await run_phase(tmp_path, model)
    refusal = model.requests[2].messages[-1]
    assert refusal.role == "tool" and refusal.content.startswith(
        "Not run: its arguments hold figures that are not in the context or the results so far: 40%."
    )
    assert [(r.arguments["title"], r.outcome) for r in result.calls()] == [
        ("Sum up 40%", "refused"),
        ("Sum", "ok"),
    ]
    assert result.calls()[0].policy == "figure_grounding"  # only the grounded call was made
    assert (tmp_path / "Sum.txt").read_text() == "Sum\nThe sum is 5"
    model.assert_consumed()


async def test_a_bullet_with_an_invented_figure_is_left_out_and_the_model_told(tmp_path: Path) -> None:
    model = ScriptedModel(
        [
            one_step("deck"),
            tool_call("make_deck", title="Sum", bullets=["The sum is 5", "Up 40% on last year"]),
            "Deck written.",
        ]
    )
    result = await run_phase(tmp_path, model)
    assert result.calls()[0].arguments == {"title": "Sum", "bullets": ["The sum is 5"]}
    assert (
        "Left out, as their figures were not given: Up 40% on last year"
        in model.requests[2].messages[-1].content
    )
    model.assert_consumed()


async def test_an_expression_for_a_read_only_tool_may_hold_its_own_constants(tmp_path: Path) -> None:
    model = ScriptedModel(
        [
            one_step("calc"),
            tool_call("evaluate", expression="5 * 100"),
            "5 is 500 in hundredths.",
        ]
    )
    result = await run_phase(tmp_path, model)
    assert [(r.tool, r.is_error) for r in result.calls()] == [("evaluate", False)]
    assert '"value": 500.0' in model.requests[2].messages[-1].content
    assert result.status == "ok" and result.output == "5 is 500 in hundredths."
    model.assert_consumed()


async def test_the_router_may_plan_a_read_only_call_with_its_own_constants(tmp_path: Path) -> None:
    step = {"name": "Do", "worker": "calc", "goals": "scale", "tool": "evaluate"}
    model = ScriptedModel(
        [
            {"step": {**step, "arguments": {"expression": "5 * 100"}}},
            {"answer": "5 is 500 in hundredths.", "goal_met": True},
        ]
    )
    result = await run_phase(tmp_path, model, planner="router")
    assert [(r.tool, r.is_error) for r in result.calls()] == [("evaluate", False)]
    model.assert_consumed()


async def test_an_answer_that_still_invents_a_figure_gives_way_to_the_data_without_a_synthesis(
    tmp_path: Path,
) -> None:
    model = ScriptedModel(
        [
            one_step("calc"),
            tool_call("evaluate", expression="2 + 3"),
            "The sum is 4,321.",
            "The sum is 4,321, as said.",  # the send-back did not help; no synthesis is asked for after it
        ]
    )
    result = await run_phase(tmp_path, model)
    assert result.status == "partial" and result.goal_met
    assert "4,321" not in result.output
    assert result.output.startswith("No written answer passed the checks; what calc.evaluate returned:")
    assert "value: 5.0" in result.output
    assert result.steps[0].output_from == "tools"
    assert [e.kind for e in result.errors] == ["grounding"]
    model.assert_consumed()


async def test_an_invented_answer_with_no_data_behind_it_is_replaced_by_what_failed(tmp_path: Path) -> None:
    model = ScriptedModel(
        [
            one_step("calc"),
            tool_call("divide", a=1, b=0),
            "The quotient is 4,321.",
            "The quotient is 4,321, as said.",  # still invented after it went back
            {"answer": "The quotient is not known: b is zero.", "goal_met": False, "missing": "a non-zero b"},
        ]
    )
    result = await run_phase(tmp_path, model)
    step = result.steps[0]
    assert step.output_from == "none" and "4,321" not in step.output
    assert step.output.startswith("Not known: no tool call returned data for it (1 made, none with data).")
    assert "The last call, calc.divide:" in step.output
    # The synthesis reads what failed, not the invented figure, next to the request.
    synthesis = model.requests[-1].messages[-1].content
    assert "Not known: no tool call returned data" in synthesis and "4,321" not in synthesis
    assert result.status == "partial" and not result.goal_met
    assert result.output == "The quotient is not known: b is zero."
    model.assert_consumed()


async def test_a_phase_whose_computation_had_no_figures_is_planned_once_more_to_get_them_first(
    tmp_path: Path,
) -> None:
    from echelon.servers.workers.math import build_server as build_math

    config = parse_config(
        {
            "managers": {"office": {"description": "Figures", "workers": ["calc", "math"]}},
            "workers": {"calc": {"command": "calc-server"}, "math": {"command": "math-server"}},
        },
        file="toy.toml",
    )
    targets = {"calc": Target.in_process(build_calc_server()), "math": Target.in_process(build_math())}
    model = ScriptedModel(
        [
            {"plan": {"steps": [{"name": "Average", "worker": "math", "goals": "the average of the sums"}]}},
            tool_call("statistics", values=[120, 80]),  # figures from nowhere: refused
            "The average is 100.",
            "The average is 100, as said.",  # refused again: the step knows nothing
            {"plan": {"steps": [{"name": "Sum", "worker": "calc", "goals": "the sum"}]}},
            tool_call("add", a=2, b=3),
            "The sum is 5.",
        ]
    )
    server = build_server(config, "office", model=model, worker_targets=targets)
    phase = {"name": "Work", "worker": "office", "goals": "The average of the sums"}
    async with Client(server) as client:
        answer = await client.call_tool(
            "execute_phase", {"phase": phase, "context": {"request": "Average them"}}
        )
    result = PhaseResult.model_validate(answer.structured_content)
    assert [s.step for s in result.steps] == ["Sum"] and result.output == "The sum is 5."
    assert [e.kind for e in result.errors][-1] == "replanned"
    # The planner was told what failed, and to get the figures first.
    replan = model.requests[4].messages[-1].content
    assert "A plan before this one failed: step 'Average' (math) was refused its calls" in replan
    assert result.usage.llm_calls == 7
    model.assert_consumed()


async def test_figures_a_step_plan_s_notes_invent_do_not_ground_the_phase_s_synthesis(tmp_path: Path) -> None:
    invented = "The sum grew to 43,740,972."
    model = ScriptedModel(
        [
            {
                "step": {
                    "name": "Do",
                    "worker": "deck",
                    "goals": "present the sum",
                    "notes": invented,
                    "tool": "make_deck",
                    "arguments": {"title": "Sum", "bullets": ["The sum is 5"]},
                }
            },
            {"answer": invented, "goal_met": True},
            {"answer": "The deck shows the sum, 5.", "goal_met": True},
        ]
    )
    result = await run_phase(tmp_path, model, planner="WorkerRouterPlanner")
    assert result.output == "The deck shows the sum, 5."
    assert "43740972" in model.requests[-1].messages[-1].content  # the send-back named the invented figure
    model.assert_consumed()
