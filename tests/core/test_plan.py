import pytest
from pydantic import ValidationError

from echelon.servers.core.plan import Plan, PlanDocument, PlanNode, topological_order


def node(name: str, *deps: str) -> dict[str, object]:
    return {"name": name, "worker": "data", "goals": f"do {name}", "depends_on": list(deps)}


def test_plan_document_parses_the_design_json_shape() -> None:
    doc = PlanDocument.model_validate(
        {"plan": {"phases": [node("A"), node("B", "A")], "primary_worker": "data", "rationale": "r"}}
    )
    assert [p.name for p in doc.plan.phases] == ["A", "B"]
    assert doc.plan.phases[1].depends_on == ["A"]


def test_plan_rejects_a_dependency_on_an_unknown_phase_naming_it() -> None:
    with pytest.raises(ValidationError, match="depends on 'Z'"):
        Plan.model_validate({"phases": [node("A", "Z")], "primary_worker": "data"})


def test_plan_rejects_duplicate_names_and_cycles() -> None:
    with pytest.raises(ValidationError, match="two phases are named 'A'"):
        Plan.model_validate({"phases": [node("A"), node("A")], "primary_worker": "data"})
    with pytest.raises(ValidationError, match="cycle"):
        Plan.model_validate({"phases": [node("A", "B"), node("B", "A")], "primary_worker": "data"})


def test_topological_order_puts_dependencies_first() -> None:
    nodes = [PlanNode.model_validate(n) for n in (node("C", "B"), node("B", "A"), node("A"))]
    assert [n.name for n in topological_order(nodes)] == ["A", "B", "C"]
