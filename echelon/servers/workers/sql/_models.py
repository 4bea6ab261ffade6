"""Structured outputs of the SQL worker's tools (each becomes a tool's output schema)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, WithJsonSchema

Cell = str | int | float | None
"""A JSON-safe cell: blobs become hex strings, non-finite floats become their names."""

Rows = Annotated[list[list[Cell]], WithJsonSchema({"type": "array", "items": {"type": "array"}})]
"""Rows of cells, published as a plain array of arrays: every MCP client checks each result against the output
schema, and a type per cell (an anyOf of four) made a 500-row result about 8 times slower to check."""


class TableSummary(BaseModel):
    name: str
    kind: Literal["table", "view"]
    row_count: int | None = Field(description="None when counting took longer than the time limit")


class TableList(BaseModel):
    database: str = Field(description="File name of the database")
    tables: list[TableSummary]


class ColumnInfo(BaseModel):
    name: str
    type: str = Field(description="Declared type ('' when the column has none)")
    nullable: bool
    primary_key: bool
    default: str | None = Field(description="The default as SQL text, or None")


class ForeignKey(BaseModel):
    columns: list[str]
    references_table: str
    references_columns: list[str]
    on_update: str
    on_delete: str


class IndexInfo(BaseModel):
    name: str
    columns: list[str]
    unique: bool
    origin: Literal["create_index", "unique_constraint", "primary_key"]


class TableDescription(BaseModel):
    name: str
    kind: Literal["table", "view"]
    columns: list[ColumnInfo]
    foreign_keys: list[ForeignKey]
    indexes: list[IndexInfo]
    row_count: int | None
    sample_rows: Rows = Field(description="A few rows, in column order")
    sql: str | None = Field(description="The CREATE statement stored in the schema")


class QueryResult(BaseModel):
    columns: list[str]
    rows: Rows = Field(description="The rows, each a list of cells in column order")
    row_count: int = Field(description="Rows returned (after the limit)")
    truncated: bool = Field(description="True when the query had more rows than the limit")
    limit: int = Field(description="The row limit that was applied")
    elapsed_ms: float


class Join(BaseModel):
    kind: str = Field(description="INNER, LEFT, RIGHT, FULL, CROSS, ... (with NATURAL where given)")
    table: str = Field(description="The joined table (or subquery text), with its alias")
    condition: str | None = Field(description="The ON condition or USING column list, as SQL")


class Filter(BaseModel):
    clause: Literal["WHERE", "HAVING"]
    condition: str = Field(description="One top-level AND-ed condition, as SQL")


class Aggregation(BaseModel):
    function: str = Field(description="Upper-case name, e.g. SUM")
    argument: str = Field(description="Argument as SQL ('*' for COUNT(*))")
    distinct: bool
    sql: str


class QueryAnalysis(BaseModel):
    statement_type: str = Field(description="SELECT, INSERT, UPDATE, DELETE, CREATE, UNION, ...")
    dialect: str
    tables: list[str] = Field(description="Tables read or written (CTE names excluded)")
    columns: list[str] = Field(description="Referenced columns, as table.column where resolvable")
    joins: list[Join]
    filters: list[Filter]
    aggregations: list[Aggregation]
    group_by: list[str]
    order_by: list[str]
    cte_names: list[str]
    subquery_count: int
    subqueries: list[str]
    normalized_sql: str = Field(description="The statement re-rendered by sqlglot (pretty)")


class Translation(BaseModel):
    from_dialect: str
    to_dialect: str
    sql: str
    warnings: list[str] = Field(description="Constructs the target dialect does not support")
