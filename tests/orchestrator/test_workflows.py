"""Workflows through a real in-process hierarchy: a fully pinned one makes no model call and repeats itself;
bad inputs and bad pinned calls stop it before anything runs; phases and for_each copies overlap; a workflow in a
configured folder is a typed tool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from echelon.servers.core.envelope import DelegationResult
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel
from echelon.servers.managers.server import build_server as build_manager
from echelon.servers.orchestrator.server import build_server as build_orchestrator
from tests.orchestrator._hierarchy import build_hierarchy, toy_config
from tests.orchestrator.test_recovery import meeting_server

pytestmark = pytest.mark.anyio

PINNED = """
description = "Add two numbers and put the sum on a slide, without a model"
[inputs.a]
type = "integer"
description = "The first number"
default = 2

[[phases]]
name = "Sum"
worker = "numbers"
goals = "Add {{inputs.a}} and 3"
synthesis = false
[[phases.steps]]
worker = "calc"
tool = "add"
arguments = { a = "{{inputs.a}}", b = 3 }

[[phases]]
name = "Slide"
worker = "content"
goals = "One slide with the sum"
depends_on = ["Sum"]
synthesis = false
[[phases.steps]]
worker = "deck"
tool = "make_deck"
arguments = { title = "Sum of {{inputs.a}} and 3", bullets = ["The sum is {{phases.Sum.data.value}}"] }
"""


def no_model() -> ScriptedModel:
    return ScriptedModel([])  # any model request fails the test


async def call(server: MCPServer[Any], tool: str, arguments: dict[str, Any]) -> Any:
    with anyio.fail_after(60):
        async with Client(server) as client:
            return await client.call_tool(tool, arguments)


def result_of(answer: Any) -> DelegationResult:
    assert not answer.is_error, answer.content
    return DelegationResult.model_validate(answer.structured_content)


async def test_a_fully_pinned_workflow_runs_with_no_model_call_and_gives_the_same_result_twice(
    tmp_path: Path,
) -> None:
    models = [no_model(), no_model(), no_model()]
    server = build_hierarchy(tmp_path, orchestrator=models[0], numbers=models[1], content=models[2])
    first = result_of(await call(server, "run_workflow", {"workflow": PINNED, "inputs": {"a": 4}}))
    second = result_of(await call(server, "run_workflow", {"workflow": PINNED, "inputs": {"a": "4"}}))
    for result in (first, second):
        assert result.status == "ok" and result.usage.llm_calls == 0
        assert [(c.tool, c.arguments) for c in result.calls()] == [
            ("add", {"a": 4, "b": 3}),
            ("make_deck", {"title": "Sum of 4 and 3", "bullets": ["The sum is 7.0"]}),
        ]
    assert first.output == second.output and '"value": 7.0' in first.output
    assert first.run_id != second.run_id
    assert (tmp_path / "Sum_of_4_and_3.txt").read_text() == "Sum of 4 and 3\nThe sum is 7.0"
    assert all(m.requests == [] for m in models)


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ({"a": "two"}, "inputs.a: expected an integer, got 'two'"),
        ({"b": 1}, "inputs.b: not an input of this workflow (its inputs: a)"),
    ],
)
async def test_bad_inputs_are_named_and_nothing_runs(
    tmp_path: Path, inputs: dict[str, Any], problem: str
) -> None:
    server = build_hierarchy(tmp_path, orchestrator=no_model(), numbers=no_model(), content=no_model())
    answer = await call(server, "run_workflow", {"workflow": PINNED, "inputs": inputs})
    assert answer.is_error and "the workflow was not run" in answer.content[0].text
    assert problem in answer.content[0].text
    assert not [p async for p in anyio.Path(tmp_path).glob("*.txt")]


async def test_a_missing_required_input_is_named_before_anything_runs(tmp_path: Path) -> None:
    text = PINNED.replace("default = 2\n", "")
    server = build_hierarchy(tmp_path, orchestrator=no_model(), numbers=no_model(), content=no_model())
    check = await call(server, "check_workflow", {"workflow": text})
    assert check.structured_content["ok"] is False
    assert check.structured_content["problems"] == [
        "<workflow>: inputs.a: required (no default); pass it, e.g. --input a=..."
    ]


async def test_check_rejects_a_pinned_call_that_breaks_the_tools_live_schema_naming_node_and_field(
    tmp_path: Path,
) -> None:
    text = PINNED.replace(
        'arguments = { a = "{{inputs.a}}", b = 3 }', 'arguments = { a = "{{inputs.a}}", b = "three" }'
    )
    server = build_hierarchy(tmp_path, orchestrator=no_model(), numbers=no_model(), content=no_model())
    check = (await call(server, "check_workflow", {"workflow": text})).structured_content
    assert check["ok"] is False
    assert check["problems"] == [
        "<workflow>: phases['Sum'].steps[0].arguments.b: 'three' is not of type 'number'"
    ]
    answer = await call(server, "run_workflow", {"workflow": text})
    assert answer.is_error and "phases['Sum'].steps[0].arguments.b" in answer.content[0].text


def gated(arrived: list[str], both: anyio.Event) -> MCPServer[Any]:
    config = toy_config()
    numbers = build_manager(
        config,
        "numbers",
        model=no_model(),
        worker_targets={"calc": Target.in_process(meeting_server(arrived, both))},
    )
    return build_orchestrator(
        config, model=no_model(), manager_targets={"numbers": Target.in_process(numbers)}
    )


async def test_for_each_copies_run_at_the_same_time(tmp_path: Path) -> None:
    arrived: list[str] = []
    text = """
[inputs.people]
type = "list"
[[phases]]
name = "Meet"
worker = "numbers"
goals = "Meet {{item}}"
for_each = "{{inputs.people}}"
synthesis = false
[[phases.steps]]
worker = "calc"
tool = "meet"
arguments = { who = "{{item}}" }
"""
    result = result_of(
        await call(
            gated(arrived, anyio.Event()), "run_workflow", {"workflow": text, "inputs": {"people": "ann, bo"}}
        )
    )
    assert sorted(arrived) == ["ann", "bo"]  # one after the other, the first would wait forever
    assert [p.phase for p in result.phases] == ["Meet [ann]", "Meet [bo]"]
    assert result.status == "ok"


async def test_a_failed_for_each_copy_keeps_the_others(tmp_path: Path) -> None:
    text = """
[inputs.divisors]
type = "list"
default = [2, 0, 4]
[[phases]]
name = "Divide"
worker = "numbers"
goals = "8 / {{item}}"
for_each = "{{inputs.divisors}}"
synthesis = false
[[phases.steps]]
worker = "calc"
tool = "divide"
arguments = { a = 8, b = "{{item}}" }

[[phases]]
name = "Report"
worker = "numbers"
goals = "Add the first quotient to 1"
depends_on = ["Divide"]
synthesis = false
[[phases.steps]]
worker = "calc"
tool = "add"
arguments = { a = "{{phases.Divide.data.0.value}}", b = 1 }
"""
    server = build_hierarchy(tmp_path, orchestrator=no_model(), numbers=no_model(), content=no_model())
    result = result_of(await call(server, "run_workflow", {"workflow": text}))
    statuses = {p.phase: p.status for p in result.phases}
    assert statuses == {"Divide [2]": "ok", "Divide [0]": "failed", "Divide [4]": "ok", "Report": "failed"}
    report = next(p for p in result.phases if p.phase == "Report")
    assert [e.kind for e in report.errors] == ["skipped"]  # it needs every copy; the others stand
    assert result.status == "partial"
    assert [p.data for p in result.phases if p.phase in ("Divide [2]", "Divide [4]")] == [
        {"value": 4.0},
        {"value": 2.0},
    ]


async def test_a_workflow_in_a_configured_folder_is_a_tool_typed_by_its_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "add-and-slide.toml").write_text(PINNED)
    config = toy_config(extra={"workflows": {"paths": [str(folder)]}})
    server = build_hierarchy(
        tmp_path, orchestrator=no_model(), numbers=no_model(), content=no_model(), config=config
    )
    with anyio.fail_after(60):
        async with Client(server) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            answer = await client.call_tool("workflow_add_and_slide", {"a": 5})
    tool = tools["workflow_add_and_slide"]
    assert tool.input_schema["properties"]["a"]["type"] == "integer"
    assert tool.input_schema["properties"]["a"]["default"] == 2
    assert tool.description and tool.description.startswith("Add two numbers and put the sum on a slide")
    result = result_of(answer)
    assert result.status == "ok" and result.calls()[0].arguments == {"a": 5, "b": 3}
    assert json.loads(result.model_dump_json())["usage"]["llm_calls"] == 0
