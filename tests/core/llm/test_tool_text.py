from typing import Literal

from pydantic import BaseModel, Field

from echelon.servers.core.llm._tool_text import tool_text, type_text

Dimension = Literal["region", "product", "month", "year"]


class Filter(BaseModel):
    dimension: Dimension = Field(description="What to compare")
    op: Literal["=", "in"] = "="
    value: str | int | list[str | int]


class Arguments(BaseModel):
    measure: Literal["sum(sales.revenue)", "count(sales)"] = Field(description="What to compute")
    group_by: list[Dimension] | None = Field(default=None, description="Dimensions to group by")
    filters: list[Filter] | None = None
    limit: int | None = Field(default=None, ge=1, description="Maximum rows")
    precision: int = Field(default=15, ge=1, le=1000)


def test_a_tool_is_one_line_per_argument_with_its_type_description_and_default() -> None:
    text = tool_text("aggregate", "  Compute a measure.\n", Arguments.model_json_schema())
    lines = text.splitlines()
    assert lines[0] == "- aggregate: Compute a measure."
    assert lines[1] == '  measure (required): "sum(sales.revenue)" | "count(sales)". What to compute'
    assert lines[2] == '  group_by: list of ("region" | "product" | "month" | "year"). Dimensions to group by'
    assert lines[4] == "  limit: integer >= 1. Maximum rows"
    assert lines[5] == "  precision: integer 1..1000 (default 15)"


def test_nested_objects_are_written_inline_with_their_field_descriptions_and_refs_resolved() -> None:
    filters = tool_text("aggregate", "", Arguments.model_json_schema()).splitlines()[3]
    assert filters.startswith("  filters: list of ({dimension: one of the group_by choices, op?: ")
    assert 'op?: "=" | "in"' in filters
    assert "value: string | integer | list of (string | integer)" in filters
    assert filters.endswith("Fields: dimension: What to compare")


def test_the_text_is_much_shorter_than_the_json_schema_it_describes() -> None:
    import json

    schema = Arguments.model_json_schema()
    assert len(tool_text("aggregate", "", schema)) < 0.6 * len(json.dumps(schema, separators=(",", ":")))


def test_tools_without_arguments_or_schema_say_so() -> None:
    assert tool_text("now", "", {"type": "object", "properties": {}}).splitlines() == [
        "- now: (no description)",
        "  arguments: none",
    ]
    assert tool_text("raw", "Anything.", None).splitlines()[1] == "  arguments: any JSON object"


def test_types_read_as_a_person_would_write_them() -> None:
    assert type_text({"type": ["string", "null"]}, {}) == "string"
    assert type_text({"type": ["string", "integer"]}, {}) == "string | integer"
    assert type_text({"const": "x"}, {}) == '"x"'
    assert type_text({"type": "object"}, {}) == "object"
    assert type_text({}, {}) == "any"
