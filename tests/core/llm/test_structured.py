"""Structured output: extract_json and generate_structured's bounded repair loop."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from echelon.servers.core.llm import Message, ModelRequest, StructuredOutputError, generate_structured
from echelon.servers.core.llm.structured import extract_json
from echelon.servers.core.testing import ScriptedModel


class Step(BaseModel):
    name: str
    worker: str


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": [2, 3]}',
        '  \n{"a": 1, "b": [2, 3]}\n',
        '```json\n{"a": 1, "b": [2, 3]}\n```',
        '```\n{"a": 1, "b": [2, 3]}\n```',
        'Here is the plan:\n{"a": 1, "b": [2, 3]}\nHope this helps!',
    ],
    ids=["bare", "whitespace", "json-fence", "plain-fence", "prose-around"],
)
def test_extract_json_tolerates_fences_and_prose(text: str) -> None:
    assert extract_json(text) == {"a": 1, "b": [2, 3]}


def test_extract_json_parses_non_object_json_as_is() -> None:
    assert extract_json("[1, 2]") == [1, 2]
    assert extract_json("42") == 42


@pytest.mark.parametrize("text", ["", "no json here", '{"a": 1', "{not: json}"])
def test_extract_json_raises_on_text_without_json(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        extract_json(text)


REQUEST = ModelRequest(messages=[Message(role="user", content="plan it")])


@pytest.mark.anyio
async def test_generate_structured_sends_invalid_answers_back_with_the_error() -> None:
    model = ScriptedModel(
        ['{"name": "load"}', "not json at all", '```json\n{"name": "load", "worker": "sql"}\n```']
    )
    value, usage = await generate_structured(model, REQUEST, Step)
    assert value == Step(name="load", worker="sql")
    assert usage.requests == 3
    model.assert_consumed()
    second, third = model.requests[1], model.requests[2]
    assert second.messages[1] == Message(role="assistant", content='{"name": "load"}')
    assert second.messages[2].content.startswith("That answer is invalid: worker: Field required")
    assert "Expecting value" in third.messages[4].content
    assert all(r.output_schema == Step.model_json_schema() and r.tools == [] for r in model.requests)


@pytest.mark.anyio
async def test_generate_structured_applies_extra_validation_and_gives_up_after_the_repairs() -> None:
    def known_worker(step: Step) -> None:
        if step.worker not in {"sql", "math"}:
            raise ValueError(f"unknown worker {step.worker!r}; use one of sql, math")

    answer = '{"name": "load", "worker": "excel"}'
    model = ScriptedModel([answer, answer])
    with pytest.raises(StructuredOutputError) as caught:
        await generate_structured(model, REQUEST, Step, validate=known_worker, max_repairs=1)
    assert "test:scripted gave no valid Step after 2 attempts" in str(caught.value)
    assert "unknown worker 'excel'" in str(caught.value)
    assert caught.value.usage.requests == 2
    assert "unknown worker 'excel'; use one of sql, math" in model.requests[1].messages[-1].content


def test_schema_with_choices_narrows_nested_and_top_level_fields_to_enums() -> None:
    from echelon.servers.core.llm import schema_with_choices
    from echelon.servers.core.plan import PlanDocument

    schema = schema_with_choices(
        PlanDocument, {"PlanNode.worker": ["data", "content"], "Plan.primary_worker": ["data"]}
    )
    assert schema["$defs"]["PlanNode"]["properties"]["worker"]["enum"] == ["data", "content"]
    assert schema["$defs"]["Plan"]["properties"]["primary_worker"]["enum"] == ["data"]
    with pytest.raises(KeyError, match=r"PlanNode\.nope is not a field of PlanDocument"):
        schema_with_choices(PlanDocument, {"PlanNode.nope": ["x"]})
