"""Workflow files: parsed with every problem named, references filled in, inputs typed, graphs checked."""

from __future__ import annotations

import pytest

from echelon.servers.core.catalog import ToolInfo, WorkerInfo
from echelon.servers.core.workflow import InputSpec, WorkflowError, parse_workflow, workflow_schema
from echelon.servers.core.workflow._check import call_problems, coerce, resolve_inputs, static_problems
from echelon.servers.core.workflow._templates import Scope, UnresolvedReference, render

PINNED = """
description = "Yearly revenue by region"
[inputs.year]
type = "integer"
description = "The year to report"
default = 2025
[inputs.regions]
type = "list"

[[phases]]
name = "Revenue"
worker = "data"
goals = "Revenue by region in {{inputs.year}}"
synthesis = false
[[phases.steps]]
worker = "sql"
tool = "run_query"
arguments = { sql = "SELECT 1 WHERE '{{inputs.year}}' = '2025'", limit = "{{inputs.year}}" }

[[phases]]
name = "Deck"
worker = "content"
goals = "A slide with {{phases.Revenue.output}}"
depends_on = ["Revenue"]
"""
WORKERS = {"data": ["sql", "math"], "content": ["slides"]}


def test_a_workflow_parses_from_toml_and_json_alike() -> None:
    workflow = parse_workflow(PINNED)
    assert [p.name for p in workflow.phases] == ["Revenue", "Deck"]
    assert workflow.inputs["year"] == InputSpec(
        type="integer", description="The year to report", default=2025
    )
    assert workflow.phases[0].steps and workflow.phases[0].steps[0].tool == "run_query"
    again = parse_workflow(workflow.model_dump_json())
    assert again == workflow


def test_a_bad_file_names_the_node_and_the_field_of_every_problem() -> None:
    text = """
[[phases]]
name = "Revenue"
worker = "data"
goals = "g"
colour = "blue"
[[phases.steps]]
worker = "sql"
arguments = {}
"""
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(text, source="w.toml")
    assert caught.value.problems == [
        "w.toml: phases['Revenue'].steps[0].tool: Field required",
        "w.toml: phases['Revenue'].colour: unknown key (check the spelling)",
    ]
    with pytest.raises(WorkflowError, match=r"w\.toml: not valid TOML or JSON"):
        parse_workflow("[[phases", source="w.toml")


def test_the_schema_describes_a_workflow_file_for_editors() -> None:
    schema = workflow_schema()
    assert schema["title"] == "echelon workflow" and "phases" in schema["required"]
    assert set(schema["$defs"]["WorkflowPhase"]["properties"]) >= {
        "name",
        "worker",
        "steps",
        "for_each",
        "synthesis",
    }


def test_a_whole_reference_keeps_its_type_and_one_in_text_is_written_in() -> None:
    scope = Scope(
        inputs={"year": 2025, "regions": ["North", "South"]},
        outputs={"A": "done"},
        data={"A": {"rows": [[1, 2]]}},
    )
    assert render({"limit": "{{inputs.year}}", "sql": "year = {{ inputs.year }}"}, scope) == {
        "limit": 2025,
        "sql": "year = 2025",
    }
    assert render("{{phases.A.data.rows.0}}", scope) == [1, 2]
    assert (
        render("Regions: {{inputs.regions}}; {{phases.A.output}}", scope)
        == 'Regions: ["North", "South"]; done'
    )
    with pytest.raises(UnresolvedReference, match="there is no 'cols' there"):
        render("{{phases.A.data.cols}}", scope)


def test_inputs_take_their_defaults_read_text_as_their_type_and_name_what_is_wrong() -> None:
    workflow = parse_workflow(PINNED)
    assert resolve_inputs(workflow, {"regions": "North, South"}, source="w") == {
        "year": 2025,
        "regions": ["North", "South"],
    }
    assert resolve_inputs(workflow, {"year": "2024", "regions": '["A"]'}, source="w") == {
        "year": 2024,
        "regions": ["A"],
    }
    with pytest.raises(WorkflowError) as caught:
        resolve_inputs(workflow, {"year": "last", "colour": "blue"}, source="w")
    assert caught.value.problems == [
        "w: inputs.colour: not an input of this workflow (its inputs: year, regions)",
        "w: inputs.year: expected an integer, got 'last'",
        "w: inputs.regions: required (no default); pass it, e.g. --input regions=...",
    ]
    assert coerce("yes", InputSpec(type="boolean")) is True
    with pytest.raises(ValueError, match="expected a number, got true"):
        coerce(True, InputSpec(type="number"))


def test_the_graph_references_managers_and_workers_are_checked_without_any_server() -> None:
    text = """
[inputs.regions]
type = "string"
[[phases]]
name = "A"
worker = "data"
goals = "Use {{phases.B.output}} and {{inputs.nope}} and {{item}}"
for_each = "{{inputs.regions}}"
[[phases.steps]]
worker = "slides"
tool = "x"
[[phases]]
name = "B"
worker = "finance"
goals = "g"
"""
    problems = static_problems(parse_workflow(text), WORKERS, source="w")
    assert problems == [
        "w: phases['A'].steps[0].worker: 'slides' is not a worker of data (sql, math)",
        "w: phases['A'].for_each: input 'regions' is string, not a list",
        "w: phases['A'].goals: {{phases.B.output}}: phase 'A' must depend on 'B' (directly or not) to use its result",
        "w: phases['A'].goals: {{inputs.nope}}: no such input (inputs: regions)",
        "w: phases['B'].worker: 'finance' is not a manager (managers: data, content)",
    ]
    cycle = parse_workflow(
        '[[phases]]\nname="A"\nworker="data"\ngoals="g"\ndepends_on=["B"]\n[[phases]]\nname="B"\nworker="data"\ngoals="g"\ndepends_on=["A"]'
    )
    assert static_problems(cycle, WORKERS, source="w") == [
        "w: phases: the phases A, B depend on each other in a cycle"
    ]


def test_pinned_arguments_are_checked_against_the_tools_live_schema_naming_the_field() -> None:
    schema = {
        "type": "object",
        "properties": {"sql": {"type": "string"}, "limit": {"type": "integer", "minimum": 0}},
        "required": ["sql"],
    }
    sql = WorkerInfo(
        name="sql", tools=[ToolInfo(name="run_query", signature="run_query(sql)", input_schema=schema)]
    )
    workflow = parse_workflow(PINNED.replace('limit = "{{inputs.year}}"', 'limit = "many"'))
    problems = call_problems(workflow, {"year": 2025, "regions": []}, {"data": {"sql": sql}}, source="w")
    assert problems == ["w: phases['Revenue'].steps[0].arguments.limit: 'many' is not of type 'integer'"]
    fine = parse_workflow(PINNED)
    assert call_problems(fine, {"year": 2025, "regions": []}, {"data": {"sql": sql}}, source="w") == []
    renamed = parse_workflow(PINNED.replace('tool = "run_query"', 'tool = "query"'))
    assert call_problems(renamed, {"year": 2025}, {"data": {"sql": sql}}, source="w") == [
        "w: phases['Revenue'].steps[0].tool: 'query' is not a tool of sql (run_query)"
    ]


def test_a_default_may_be_relative_to_today_so_it_never_goes_stale() -> None:
    from datetime import date

    workflow = parse_workflow(
        '[inputs.year]\ntype = "integer"\ndefault = "{{today.last_year}}"\n[[phases]]\nname="A"\nworker="data"\ngoals="{{today.date}}"'
    )
    assert resolve_inputs(workflow, {}, source="w") == {"year": date.today().year - 1}
    assert static_problems(workflow, WORKERS, source="w") == []
