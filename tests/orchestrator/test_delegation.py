from pathlib import Path

import pytest
from mcp import Client

from echelon.servers.core.config import HierarchyConfig
from echelon.servers.core.envelope import DelegationResult, PhaseResult
from echelon.servers.core.testing import ScriptedModel, tool_call
from tests.orchestrator._hierarchy import adding_model, build_hierarchy, looping_model, toy_config

pytestmark = pytest.mark.anyio

TWO_PHASES = {
    "plan": {
        "asks_for": ["figure", "file"],
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
ONE_PHASE = {
    "plan": {
        "phases": [{"name": "P", "worker": "numbers", "goals": "add 2 and 3"}],
        "primary_worker": "numbers",
    }
}


def numbers_script() -> ScriptedModel:
    return looping_model(2, 3, "2 + 3 = 5")


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


async def delegate(server: object, request: str = "add") -> DelegationResult:
    async with Client(server) as client:  # type: ignore[arg-type]
        answer = await client.call_tool("delegate", {"request": request})
    assert not answer.is_error, answer.content
    return DelegationResult.model_validate(answer.structured_content)


async def test_request_flows_through_phases_steps_worker_calls_and_answers(tmp_path: Path) -> None:
    orchestrator, numbers, content = ScriptedModel([TWO_PHASES]), numbers_script(), content_script()
    server = build_hierarchy(tmp_path, orchestrator=orchestrator, numbers=numbers, content=content)
    result = await delegate(server, "Add 2 and 3 and make a slide")

    assert result.status == "ok"
    assert [p.phase for p in result.phases] == ["Compute", "Deck"]
    assert result.output.startswith("2 + 3 = 5")  # the primary manager's answer, others attached
    assert "Deck written" in result.output
    # The worker really ran: the tool result went back to the model, and the deck file exists.
    tool_message = numbers.requests[2].messages[-1]
    assert tool_message.role == "tool" and '"value":5.0' in tool_message.content.replace(" ", "")
    assert [a.path for a in result.artifacts] == [str(tmp_path / "Sum.txt")]
    assert (tmp_path / "Sum.txt").read_text().startswith("Sum")
    assert [(r.worker, r.tool) for r in result.calls()] == [("calc", "add"), ("deck", "make_deck")]
    # The numbers phase is one step answered by the loop: its answer needs no synthesis call.
    assert result.usage.llm_calls == 1 + 3 + 2 and result.usage.tool_calls == 2
    for model in (orchestrator, numbers, content):
        model.assert_consumed()


async def test_each_request_says_what_it_is_for(tmp_path: Path) -> None:
    orchestrator, numbers, content = ScriptedModel([TWO_PHASES]), numbers_script(), content_script()
    await delegate(build_hierarchy(tmp_path, orchestrator=orchestrator, numbers=numbers, content=content))
    assert [r.purpose for r in orchestrator.requests] == ["plan_phases"]
    assert [r.purpose for r in numbers.requests] == ["plan_steps", "step", "step"]
    assert [r.purpose for r in content.requests] == ["route_step", "synthesis"]


async def test_phase_one_result_and_its_tool_data_reach_the_phase_two_manager(tmp_path: Path) -> None:
    content = content_script()
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([TWO_PHASES]), numbers=numbers_script(), content=content
    )
    await delegate(server)
    router_prompt = content.requests[0].messages[-1].content
    assert "Result of phase 'Compute' (numbers):\n2 + 3 = 5" in router_prompt
    assert 'Data returned by add: {"value": 5.0}' in router_prompt


async def test_a_later_phase_is_told_what_an_earlier_phase_could_not_find(tmp_path: Path) -> None:
    numbers = adding_model(2, 3, {"answer": "The sum is not known.", "goal_met": False, "missing": "the sum"})
    content = content_script()
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([TWO_PHASES]), numbers=numbers, content=content
    )
    result = await delegate(server)
    router_prompt = content.requests[0].messages[-1].content
    assert "The sum is not known.\nIts goals were NOT met; missing: the sum" in router_prompt
    assert result.status == "partial"  # a phase whose goals were not met is no full answer


async def test_router_path_makes_one_step_with_one_direct_tool_call(tmp_path: Path) -> None:
    content = content_script()
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([TWO_PHASES]), numbers=numbers_script(), content=content
    )
    deck_phase = (await delegate(server)).phases[1]
    assert [s.step for s in deck_phase.steps] == ["Deck"]
    assert deck_phase.steps[0].usage.llm_calls == 0  # the planned call ran without a tool loop
    assert len(content.requests) == 2  # route + synthesis


async def test_a_deck_phase_the_request_did_not_ask_for_is_left_out(tmp_path: Path) -> None:
    plan = {"plan": {**TWO_PHASES["plan"], "asks_for": ["figure"]}}
    content = ScriptedModel([])
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([plan]), numbers=numbers_script(), content=content
    )
    result = await delegate(server, "What is 2 + 3?")
    assert [p.phase for p in result.phases] == ["Compute"]
    assert result.status == "ok" and result.output == "2 + 3 = 5"
    assert result.plan is not None and [p["name"] for p in result.plan["phases"]] == ["Compute"]
    content.assert_consumed()  # the content manager was never asked


async def test_a_one_phase_question_reaches_its_manager_in_the_user_s_words(tmp_path: Path) -> None:
    numbers = numbers_script()
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([ONE_PHASE]), numbers=numbers, content=ScriptedModel([])
    )
    result = await delegate(server, "What is 2 plus 3?")
    assert result.plan is not None
    (phase,) = result.plan["phases"]
    assert phase["goals"] == "What is 2 plus 3?" and phase["notes"] == "Planned as: add 2 and 3."
    assert "Goals: What is 2 plus 3?" in numbers.requests[0].messages[-1].content


async def test_a_deck_phase_keeps_the_planner_s_goals_beside_the_phases_that_feed_it(tmp_path: Path) -> None:
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([TWO_PHASES]),
        numbers=numbers_script(),
        content=content_script(),
    )
    result = await delegate(server, "Add 2 and 3 and make a slide of it")
    assert result.plan is not None
    assert [p["goals"] for p in result.plan["phases"]] == ["Add 2 and 3", "One slide with the sum"]


def asking_the_file_question() -> HierarchyConfig:
    return toy_config(extra={"orchestrator": {"deliverables": "question"}})


async def test_the_file_question_leaves_out_a_deck_the_plan_added_to_a_plain_question(tmp_path: Path) -> None:
    orchestrator = ScriptedModel([TWO_PHASES, {"asks_for_file": "no"}])  # the plan's asks_for says "file"
    content = ScriptedModel([])
    server = build_hierarchy(
        tmp_path,
        orchestrator=orchestrator,
        numbers=numbers_script(),
        content=content,
        config=asking_the_file_question(),
    )
    result = await delegate(server, "What is 2 + 3?")
    assert [p.phase for p in result.phases] == ["Compute"]
    assert [r.purpose for r in orchestrator.requests] == ["plan_phases", "decide"]
    assert result.usage.llm_calls >= 2
    content.assert_consumed()
    # The run is judged by the decision, not by the plan's asks_for: no file was to be made, none is missing.
    assert result.status == "ok" and result.errors == []
    assert result.plan is not None and result.plan["asks_for"] == ["figure"]


async def test_the_file_question_keeps_a_deck_the_plan_forgot_to_ask_for(tmp_path: Path) -> None:
    plan = {"plan": {**TWO_PHASES["plan"], "asks_for": ["figure"]}}
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([plan, {"asks_for_file": "yes"}]),
        numbers=numbers_script(),
        content=content_script(),
        config=asking_the_file_question(),
    )
    result = await delegate(server, "Add 2 and 3 and make a slide")
    assert [p.phase for p in result.phases] == ["Compute", "Deck"]
    assert result.plan is not None and result.plan["asks_for"] == ["figure", "file"]


async def test_without_a_valid_answer_to_the_file_question_the_plan_decides(tmp_path: Path) -> None:
    plan = {"plan": {**TWO_PHASES["plan"], "asks_for": ["figure"]}}
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([plan, "maybe", "perhaps"]),
        numbers=numbers_script(),
        content=ScriptedModel([]),
        config=asking_the_file_question(),
    )
    result = await delegate(server, "What is 2 + 3?")
    assert [p.phase for p in result.phases] == ["Compute"]


async def test_a_plan_of_one_manager_asks_no_file_question(tmp_path: Path) -> None:
    orchestrator = ScriptedModel([ONE_PHASE])
    server = build_hierarchy(
        tmp_path,
        orchestrator=orchestrator,
        numbers=numbers_script(),
        content=ScriptedModel([]),
        config=asking_the_file_question(),
    )
    await delegate(server, "What is 2 + 3?")
    assert [r.purpose for r in orchestrator.requests] == ["plan_phases"]


async def test_plan_naming_an_unknown_manager_is_sent_back_to_the_planner(tmp_path: Path) -> None:
    bad = {
        "plan": {"phases": [{"name": "P", "worker": "finance", "goals": "g"}], "primary_worker": "finance"}
    }
    orchestrator = ScriptedModel([bad, ONE_PHASE])
    server = build_hierarchy(
        tmp_path, orchestrator=orchestrator, numbers=numbers_script(), content=ScriptedModel([])
    )
    result = await delegate(server)
    assert result.status == "ok"
    feedback = orchestrator.requests[1].messages[-1].content
    assert "routed to 'finance', which is not a manager (managers: numbers, content)" in feedback


async def test_step_naming_an_unknown_worker_is_sent_back_to_the_manager_planner(tmp_path: Path) -> None:
    numbers = numbers_script()
    numbers.steps.insert(0, {"plan": {"steps": [{"name": "Add", "worker": "abacus", "goals": "add"}]}})
    phase = await run_one_phase(tmp_path, ONE_PHASE, numbers)
    assert phase.status == "ok"
    assert "names worker 'abacus', which is not one of your workers (use one of: calc)" in (
        numbers.requests[1].messages[-1].content
    )
    numbers.assert_consumed()


async def test_optional_synthesis_writes_one_answer_across_managers(tmp_path: Path) -> None:
    orchestrator = ScriptedModel([TWO_PHASES, {"answer": "2 + 3 = 5, and a deck at Sum.txt"}])
    server = build_hierarchy(
        tmp_path,
        orchestrator=orchestrator,
        numbers=numbers_script(),
        content=content_script(),
        synthesis=True,
    )
    result = await delegate(server)
    assert result.output == "2 + 3 = 5, and a deck at Sum.txt" and result.status == "ok"
    synthesis = orchestrator.requests[1]
    assert synthesis.purpose == "synthesis"
    assert "2 + 3 = 5" in synthesis.messages[-1].content and "Deck written" in synthesis.messages[-1].content


async def test_a_failed_final_synthesis_keeps_the_phase_answers_and_is_not_ok(tmp_path: Path) -> None:
    orchestrator = ScriptedModel([TWO_PHASES, *["not json"] * 3])
    server = build_hierarchy(
        tmp_path,
        orchestrator=orchestrator,
        numbers=numbers_script(),
        content=content_script(),
        synthesis=True,
    )
    result = await delegate(server)
    assert result.status == "partial"
    assert "2 + 3 = 5" in result.output and "Deck written" in result.output
    assert [e.kind for e in result.errors] == ["synthesis"]


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
    numbers = ScriptedModel([steps, tool_call("add", a=2, b=3), "It is 5."])
    phase = await run_one_phase(tmp_path, ONE_PHASE, numbers)
    assert phase.status == "ok" and not phase.errors
    assert phase.usage.llm_calls == 3  # one plan, two in the step: no retry
    assert [(s.step, s.worker, s.calls[0].tool) for s in phase.steps] == [("Add", "calc", "add")]
    numbers.assert_consumed()


BAD_STEPS = {
    "plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "add", "depends_on": ["Multiply"]}]}
}


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
    numbers = ScriptedModel(
        [BAD_STEPS, BAD_STEPS, BAD_STEPS, routed, {"answer": "It is 5", "goal_met": True}]
    )
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([ONE_PHASE]), numbers=numbers, content=ScriptedModel([])
    )
    result = await delegate(server)
    assert result.status == "ok" and result.output == "It is 5"
    assert result.phases[0].usage.llm_calls == 5  # failed attempts are counted too
    assert result.phases[0].errors[0].where == "numbers.StrategicDecomposerPlanner"
    assert "depends on 'Multiply', which is not a step of this plan" in result.phases[0].errors[0].message
    numbers.assert_consumed()


async def test_single_worker_manager_runs_the_phase_as_one_step_when_no_plan_validates(
    tmp_path: Path,
) -> None:
    numbers = ScriptedModel([*[BAD_STEPS] * 3, *["not json"] * 3, tool_call("add", a=2, b=3), "It is 5."])
    phase = await run_one_phase(tmp_path, ONE_PHASE, numbers)
    assert phase.status == "ok" and phase.planner == "single-worker"
    assert [(s.step, s.worker) for s in phase.steps] == [("P", "calc")]
    assert phase.steps[0].calls[0].tool == "add"
    numbers.assert_consumed()


async def test_a_model_repeating_a_failed_call_twice_is_made_to_answer(tmp_path: Path) -> None:
    steps = {"plan": {"steps": [{"name": "Divide", "worker": "calc", "goals": "divide 1 by 0"}]}}
    # The model would repeat the failing call forever; after two verbatim repeats it must answer instead.
    numbers = ScriptedModel(
        [
            steps,
            *[tool_call("divide", a=1, b=0)] * 3,
            "Division by zero is undefined.",
            {"answer": "Division by zero is undefined.", "goal_met": False, "missing": "a result"},
        ]
    )
    phase = await run_one_phase(tmp_path, ONE_PHASE, numbers)
    step = phase.steps[0]
    assert [c.outcome for c in step.calls] == ["tool_error", "refused", "refused"]  # one reached the worker
    assert {c.policy for c in step.calls[1:]} == {"loop_guard"}
    final_request = numbers.requests[-2]
    repeats = [m for m in final_request.messages if m.role == "tool"]
    assert len(repeats) == 3 and not final_request.tools  # no tools offered for the answer
    assert all(
        "Not run: this exact call already failed with: Error executing tool divide" in m.content
        for m in repeats[1:]
    )
    assert step.output == "Division by zero is undefined."
    assert phase.goal_met is False and phase.status in ("partial", "failed")
    numbers.assert_consumed()


async def test_the_same_successful_call_again_and_again_is_refused(tmp_path: Path) -> None:
    steps = {"plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "add 2 and 3"}]}}
    numbers = ScriptedModel([steps, *[tool_call("add", a=2, b=3)] * 4, "It is 5."])
    phase = await run_one_phase(tmp_path, ONE_PHASE, numbers)
    assert [c.outcome for c in phase.steps[0].calls] == ["ok", "ok", "refused", "refused"]
    assert "was already made 2 times and its result is above" in numbers.requests[4].messages[-1].content
    assert phase.usage.tool_calls == 2
    numbers.assert_consumed()


async def test_a_successful_result_tells_the_model_it_may_answer_now(tmp_path: Path) -> None:
    numbers = numbers_script()
    await run_one_phase(tmp_path, ONE_PHASE, numbers)
    (result,) = [m for m in numbers.requests[2].messages if m.role == "tool"]
    assert result.content.endswith("reply now with the answer.)")
    numbers.assert_consumed()


async def test_a_goal_is_not_met_when_every_tool_call_failed_whatever_the_model_says(tmp_path: Path) -> None:
    steps = {
        "plan": {
            "steps": [
                {"name": "Divide", "worker": "calc", "goals": "divide 1 by 0"},
                {
                    "name": "Divide again",
                    "worker": "calc",
                    "goals": "divide 2 by 0",
                    "depends_on": ["Divide"],
                },
            ]
        }
    }
    numbers = ScriptedModel(
        [
            steps,
            tool_call("divide", a=1, b=0),
            "It is done.",
            tool_call("divide", a=2, b=0),
            "It is done too.",
            {"answer": "Both divisions are done.", "goal_met": True},
        ]
    )
    phase = await run_one_phase(tmp_path, ONE_PHASE, numbers)
    assert phase.goal_met is False
    assert phase.missing == "every tool call failed, so the answer is not backed by data"
    assert phase.status != "ok"
    # The worker's own instructions reached the step prompt, and the synthesis saw how the calls went.
    assert "How to use calc (from its own instructions): Numbers are floats" in numbers.requests[1].system
    assert "1 tool calls, 1 failed" in numbers.requests[-1].messages[-1].content


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
        2, 3, {"answer": bad_answer, "goal_met": True}, {"answer": "The sum is 5.", "goal_met": True}
    )
    phase = await run_one_phase(tmp_path, ONE_PHASE, numbers)
    assert (phase.status, phase.output) == ("ok", "The sum is 5.")
    retry = numbers.requests[-1].messages[-1].content
    assert why in retry
    numbers.assert_consumed()


async def test_an_answer_that_states_no_figure_when_the_request_asks_for_one_is_sent_back(
    tmp_path: Path,
) -> None:
    phases = {
        "plan": {
            "asks_for": ["figure"],
            "phases": [{"name": "P", "worker": "numbers", "goals": "The total of 20 and 30"}],
            "primary_worker": "numbers",
        }
    }
    numbers = adding_model(
        20,
        30,
        {"answer": "The numbers were added.", "goal_met": True},
        {"answer": "The total of 20 and 30 is 50.", "goal_met": True},
    )
    phase = await run_one_phase(tmp_path, phases, numbers)
    assert (phase.status, phase.output) == ("ok", "The total of 20 and 30 is 50.")
    assert (
        "the request asks for a figure and the answer states none"
        in numbers.requests[-1].messages[-1].content
    )
    numbers.assert_consumed()


async def test_an_answer_that_still_states_no_figure_after_a_send_back_is_not_ok(tmp_path: Path) -> None:
    phases = {
        "plan": {
            "asks_for": ["figure"],
            "phases": [{"name": "P", "worker": "numbers", "goals": "The total of 20 and 30"}],
            "primary_worker": "numbers",
        }
    }
    numbers = adding_model(20, 30, *[{"answer": "The numbers were added.", "goal_met": True}] * 3)
    phase = await run_one_phase(tmp_path, phases, numbers)
    assert phase.status == "partial"
    assert [e.kind for e in phase.errors] == ["synthesis"]


async def run_one_phase(tmp_path: Path, plan: dict[str, object], numbers: ScriptedModel) -> PhaseResult:
    """Delegate a one-phase ``plan`` to the numbers manager (running on ``numbers``) and return that phase."""
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([plan]), numbers=numbers, content=ScriptedModel([])
    )
    return (await delegate(server)).phases[0]
