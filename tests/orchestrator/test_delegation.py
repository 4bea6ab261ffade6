from pathlib import Path

import pytest
from mcp import Client

from echelon.servers.core.envelope import DelegationResult, PhaseResult
from echelon.servers.core.testing import ScriptedModel, tool_call
from tests.orchestrator._hierarchy import adding_model, build_hierarchy

pytestmark = pytest.mark.anyio

TWO_PHASES = {
    "plan": {
        "phases": [
            {"name": "Compute", "worker": "numbers", "goals": "Add 2 and 3", "notes": "", "depends_on": []},
            {
                "name": "Deck",
                "worker": "content",
                "goals": "One slide with the sum",
                "depends_on": ["Compute"],
            },
        ],
        "primary_worker": "numbers",
        "rationale": "compute, then present",
    }
}


def numbers_script() -> ScriptedModel:
    return adding_model(
        2, 3, "The sum of 2 and 3 is 5.", {"answer": "2 + 3 = 5", "goal_met": True, "missing": ""}
    )


def content_script() -> ScriptedModel:
    return ScriptedModel(
        [
            {
                "step": {
                    "name": "Deck",
                    "worker": "deck",
                    "goals": "one slide",
                    "tool": "make_deck",
                    "arguments": {"title": "Sum", "bullets": ["2 + 3 = 5"]},
                }
            },
            {"answer": "Deck written with the sum", "goal_met": True},
        ],
        name="test:content",
    )


async def test_request_flows_through_phases_steps_worker_calls_and_synthesis(tmp_path: Path) -> None:
    orchestrator, numbers, content = (
        ScriptedModel([TWO_PHASES], name="test:orch"),
        numbers_script(),
        content_script(),
    )
    server = build_hierarchy(tmp_path, orchestrator=orchestrator, numbers=numbers, content=content)
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "Add 2 and 3 and make a slide"})
    assert not answer.is_error, answer.content
    result = DelegationResult.model_validate(answer.structured_content)

    assert result.status == "ok"
    assert [p.phase for p in result.phases] == ["Compute", "Deck"]
    assert result.output.startswith("2 + 3 = 5")  # the primary manager's answer, others attached
    assert "Deck written" in result.output
    # The worker really ran: the tool result went back to the model, and the deck file exists.
    tool_message = numbers.requests[2].messages[-1]
    assert tool_message.role == "tool" and '"value": 5.0' in tool_message.content
    # Synthesis sees what the tool returned, not only the step model's summary of it.
    assert 'Data returned by add: {"value": 5.0}' in numbers.requests[3].messages[-1].content
    assert [a.path for a in result.artifacts] == [str(tmp_path / "Sum.txt")]
    assert (tmp_path / "Sum.txt").read_text().startswith("Sum")
    assert [(r.worker, r.tool) for r in result.provenance] == [("calc", "add"), ("deck", "make_deck")]
    assert result.usage.llm_calls == 1 + 4 + 2 and result.usage.tool_calls == 2
    for model in (orchestrator, numbers, content):
        model.assert_consumed()


async def test_phase_one_result_reaches_the_phase_two_manager(tmp_path: Path) -> None:
    content = content_script()
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([TWO_PHASES]), numbers=numbers_script(), content=content
    )
    async with Client(server) as client:
        await client.call_tool("delegate", {"request": "Add 2 and 3 and make a slide"})
    router_prompt = content.requests[0].messages[-1].content
    assert "Result of phase 'Compute' (numbers):\n2 + 3 = 5" in router_prompt


async def test_a_later_phase_is_told_what_an_earlier_phase_could_not_find(tmp_path: Path) -> None:
    numbers, content = numbers_script(), content_script()
    numbers.steps[-1] = {"answer": "The sum is not known.", "goal_met": False, "missing": "the sum"}
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([TWO_PHASES]), numbers=numbers, content=content
    )
    async with Client(server) as client:
        await client.call_tool("delegate", {"request": "Add 2 and 3 and make a slide"})
    router_prompt = content.requests[0].messages[-1].content
    assert "The sum is not known.\nIts goals were NOT met; missing: the sum" in router_prompt


async def test_router_path_makes_one_step_with_one_direct_tool_call(tmp_path: Path) -> None:
    content = content_script()
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([TWO_PHASES]), numbers=numbers_script(), content=content
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "Add 2 and 3 and make a slide"})
    deck_phase = DelegationResult.model_validate(answer.structured_content).phases[1]
    assert [s.step for s in deck_phase.steps] == ["Deck"]
    assert deck_phase.steps[0].usage.llm_calls == 0  # the planned call ran without a tool loop
    assert len(content.requests) == 2  # route + synthesis


async def test_plan_naming_an_unknown_manager_is_sent_back_to_the_planner(tmp_path: Path) -> None:
    bad = {
        "plan": {"phases": [{"name": "P", "worker": "finance", "goals": "g"}], "primary_worker": "finance"}
    }
    good = {
        "plan": {"phases": [{"name": "P", "worker": "numbers", "goals": "add"}], "primary_worker": "numbers"}
    }
    orchestrator = ScriptedModel([bad, good])
    server = build_hierarchy(
        tmp_path, orchestrator=orchestrator, numbers=numbers_script(), content=ScriptedModel([])
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "add"})
    result = DelegationResult.model_validate(answer.structured_content)
    assert result.status == "ok"
    feedback = orchestrator.requests[1].messages[-1].content
    assert "routed to 'finance', which is not a manager (managers: numbers, content)" in feedback


async def test_step_naming_an_unknown_worker_is_sent_back_to_the_manager_planner(tmp_path: Path) -> None:
    numbers = numbers_script()
    numbers.steps.insert(0, {"plan": {"steps": [{"name": "Add", "worker": "abacus", "goals": "add"}]}})
    one_phase = {
        "plan": {"phases": [{"name": "P", "worker": "numbers", "goals": "add"}], "primary_worker": "numbers"}
    }
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([one_phase]), numbers=numbers, content=ScriptedModel([])
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "add"})
    assert DelegationResult.model_validate(answer.structured_content).status == "ok"
    assert "names worker 'abacus', which is not one of your workers (use one of: calc)" in (
        numbers.requests[1].messages[-1].content
    )
    numbers.assert_consumed()


async def test_optional_synthesis_writes_one_answer_across_managers(tmp_path: Path) -> None:
    orchestrator = ScriptedModel([TWO_PHASES, {"answer": "5, and a deck at Sum.txt"}])
    server = build_hierarchy(
        tmp_path,
        orchestrator=orchestrator,
        numbers=numbers_script(),
        content=content_script(),
        synthesis=True,
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "Add 2 and 3 and make a slide"})
    assert DelegationResult.model_validate(answer.structured_content).output == "5, and a deck at Sum.txt"
    synthesis_prompt = orchestrator.requests[1].messages[-1].content
    assert "2 + 3 = 5" in synthesis_prompt and "Deck written" in synthesis_prompt


ONE_PHASE = {
    "plan": {
        "phases": [{"name": "P", "worker": "numbers", "goals": "add 2 and 3"}],
        "primary_worker": "numbers",
    }
}
BAD_STEPS = {
    "plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "add", "depends_on": ["Multiply"]}]}
}


async def test_tool_names_a_small_model_puts_in_depends_on_are_dropped_without_a_retry(
    tmp_path: Path,
) -> None:
    steps = {
        "plan": {
            "steps": [
                {"name": "Add", "worker": "calc", "goals": "add 2 and 3", "depends_on": ["add", "calc"]}
            ]
        }
    }
    numbers = ScriptedModel(
        [steps, tool_call("add", a=2, b=3), "It is 5.", {"answer": "5", "goal_met": True}]
    )
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([ONE_PHASE]), numbers=numbers, content=ScriptedModel([])
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "add"})
    phase = DelegationResult.model_validate(answer.structured_content).phases[0]
    assert phase.status == "ok" and not phase.errors
    assert phase.usage.llm_calls == 4  # one plan, two in the step, one synthesis: no retry
    assert [(s.step, s.worker, s.provenance[0].tool) for s in phase.steps] == [("Add", "calc", "add")]
    numbers.assert_consumed()


async def test_manager_falls_back_to_the_router_when_decomposer_plans_stay_invalid(tmp_path: Path) -> None:
    routed = {
        "step": {
            "name": "Add",
            "worker": "calc",
            "goals": "add",
            "tool": "add",
            "arguments": {"a": 2, "b": 3},
        }
    }
    numbers = ScriptedModel([BAD_STEPS, BAD_STEPS, BAD_STEPS, routed, {"answer": "5", "goal_met": True}])
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([ONE_PHASE]), numbers=numbers, content=ScriptedModel([])
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "add"})
    result = DelegationResult.model_validate(answer.structured_content)
    assert result.status == "ok" and result.output == "5"
    assert result.phases[0].usage.llm_calls == 5  # failed attempts are counted too
    assert result.phases[0].errors[0].where == "numbers.StrategicDecomposerPlanner"
    assert "depends on 'Multiply', which is not a step of this plan" in result.phases[0].errors[0].message
    numbers.assert_consumed()


async def test_single_worker_manager_runs_the_phase_as_one_step_when_no_plan_validates(
    tmp_path: Path,
) -> None:
    numbers = ScriptedModel(
        [
            *[BAD_STEPS] * 3,
            *["not json"] * 3,
            tool_call("add", a=2, b=3),
            "It is 5.",
            {"answer": "5", "goal_met": True},
        ]
    )
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([ONE_PHASE]), numbers=numbers, content=ScriptedModel([])
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "add"})
    phase = DelegationResult.model_validate(answer.structured_content).phases[0]
    assert phase.status == "ok"
    assert [(s.step, s.worker) for s in phase.steps] == [("P", "calc")]
    assert phase.steps[0].provenance[0].tool == "add"
    numbers.assert_consumed()


async def test_a_model_repeating_a_failed_call_twice_is_made_to_answer(tmp_path: Path) -> None:
    steps = {"plan": {"steps": [{"name": "Divide", "worker": "calc", "goals": "divide 1 by 0"}]}}
    # The model would repeat the failing call forever; after two verbatim repeats it must answer instead.
    numbers = ScriptedModel(
        [
            steps,
            *[tool_call("divide", a=1, b=0)] * 3,
            "Division by zero is undefined.",
            {"answer": "undefined", "goal_met": False, "missing": "a result"},
        ]
    )
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([ONE_PHASE]), numbers=numbers, content=ScriptedModel([])
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "divide"})
    phase = DelegationResult.model_validate(answer.structured_content).phases[0]
    step = phase.steps[0]
    assert len(step.provenance) == 1  # only the first call reached the worker
    final_request = numbers.requests[-2]
    repeats = [m for m in final_request.messages if m.role == "tool"]
    assert len(repeats) == 3 and not final_request.tools  # no tools offered for the answer
    assert all(
        "Not run: this exact call already failed with: Error: Error executing tool divide: b is zero"
        in m.content
        for m in repeats[1:]
    )
    assert step.output == "Division by zero is undefined."
    assert phase.goal_met is False and phase.status in ("partial", "failed")
    numbers.assert_consumed()


async def test_a_successful_result_tells_the_model_it_may_answer_now(tmp_path: Path) -> None:
    numbers = numbers_script()
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([ONE_PHASE]), numbers=numbers, content=ScriptedModel([])
    )
    async with Client(server) as client:
        await client.call_tool("delegate", {"request": "add"})
    (result,) = [m for m in numbers.requests[2].messages if m.role == "tool"]
    assert result.content.endswith("reply now with the answer.)")
    numbers.assert_consumed()


async def test_a_goal_is_not_met_when_every_tool_call_failed_whatever_the_model_says(tmp_path: Path) -> None:
    steps = {"plan": {"steps": [{"name": "Divide", "worker": "calc", "goals": "divide 1 by 0"}]}}
    numbers = ScriptedModel(
        [steps, tool_call("divide", a=1, b=0), "It is 42.", {"answer": "It is 42", "goal_met": True}]
    )
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([ONE_PHASE]), numbers=numbers, content=ScriptedModel([])
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "divide"})
    phase = DelegationResult.model_validate(answer.structured_content).phases[0]
    assert phase.goal_met is False
    assert phase.missing == "every tool call failed, so the answer is not backed by data"
    assert phase.status != "ok"
    # The worker's own instructions reached the step prompt, and the synthesis saw how the calls went.
    assert "How to use calc (from its own instructions): Numbers are floats" in numbers.requests[1].system
    assert "1 tool calls, 1 failed" in numbers.requests[3].messages[-1].content


@pytest.mark.parametrize(
    ("bad_answer", "why"),
    [
        ("The sum is [insert figure].", "placeholder '[insert figure]'"),
        ("The sum is 5, up 25.0% on last year.", "figures that are not in the results: 25.0%"),
        ('{"value": 5.0}', "the answer is JSON: write it as sentences"),
    ],
    ids=["placeholder", "figure-no-tool-returned", "json"],
)
async def test_a_synthesis_is_sent_back_until_it_states_only_the_real_figure(
    tmp_path: Path, bad_answer: str, why: str
) -> None:
    numbers = adding_model(
        2,
        3,
        "The sum is 5.",
        {"answer": bad_answer, "goal_met": True},
        {"answer": "The sum is 5.", "goal_met": True},
    )
    phase = await run_one_phase(tmp_path, ONE_PHASE, numbers)
    assert (phase.status, phase.output) == ("ok", "The sum is 5.")
    retry = numbers.requests[-1].messages[-1].content
    assert why in retry
    numbers.assert_consumed()


async def test_a_synthesis_that_states_no_figure_for_goals_asking_for_one_is_sent_back(
    tmp_path: Path,
) -> None:
    phase_one = {"name": "P", "worker": "numbers", "goals": "The total of 20 and 30"}
    phases = {"plan": {"phases": [phase_one], "primary_worker": "numbers"}}
    numbers = adding_model(
        20,
        30,
        "The total is 50.",
        {"answer": "The numbers were added.", "goal_met": True},
        {"answer": "The total of 20 and 30 is 50.", "goal_met": True},
    )
    phase = await run_one_phase(tmp_path, phases, numbers)
    assert (phase.status, phase.output) == ("ok", "The total of 20 and 30 is 50.")
    assert "the goals ask for figures and the answer states none" in numbers.requests[-1].messages[-1].content
    numbers.assert_consumed()


async def run_one_phase(tmp_path: Path, plan: dict[str, object], numbers: ScriptedModel) -> PhaseResult:
    """Delegate a one-phase ``plan`` to the numbers manager (running on ``numbers``) and return that phase."""
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([plan]), numbers=numbers, content=ScriptedModel([])
    )
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "add"})
    return DelegationResult.model_validate(answer.structured_content).phases[0]
