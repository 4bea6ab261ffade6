"""find_values: the values the database stores that a text names, with the column and the filter for each."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent

from echelon.servers.workers.sql import _values, build_server
from echelon.servers.workers.sql._values import FoundValues

pytestmark = pytest.mark.anyio


def make_regions(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE regions (id INTEGER PRIMARY KEY, name TEXT, code TEXT);
        CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, category TEXT);
        CREATE TABLE sales (
            id INTEGER PRIMARY KEY,
            region_id INTEGER REFERENCES regions(id),
            product_id INTEGER REFERENCES products(id),
            amount REAL,
            sold TEXT
        );
        INSERT INTO regions VALUES (1, 'West', '12'), (2, 'Mountain West', 'MW'), (3, 'North', 'N');
        INSERT INTO products VALUES (1, 'Down Jacket', 'Outerwear'), (2, 'Trail Tent', 'Tents & Shelters');
        INSERT INTO sales VALUES (1, 1, 1, 10.0, '2025-01-02'), (2, 2, 2, 20.0, '2025-02-03');
        """
    )
    conn.commit()
    conn.close()
    return path


def text(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


async def found(tmp_path: Path, text: str) -> FoundValues:
    async with Client(build_server(make_regions(tmp_path / "shop.db"))) as client:
        result = await client.call_tool("find_values", {"text": text})
    assert not result.is_error, result.content
    return FoundValues.model_validate(result.structured_content)


async def test_a_value_is_found_as_stored_with_the_filter_that_selects_it(tmp_path: Path) -> None:
    (value,) = (await found(tmp_path, "How did the mountain west do?")).values
    assert value.value == "Mountain West" and value.columns == ["regions.name"]
    # Selected on the measures of the table that points to it, not on the regions table's own.
    assert [(f.dimension, f.tables) for f in value.filters] == [("region", ["sales"])]
    # The same, as the contract a manager reads (tooling.LinkedValues): the filter for a model, the grouping.
    assert (
        value.selected_by
        == 'aggregate filter {"dimension": "region", "value": "Mountain West"} for measures of sales'
    )
    assert value.grouped_by == ["region"]


async def test_a_value_inside_a_longer_one_the_text_names_is_left_out(tmp_path: Path) -> None:
    values = (await found(tmp_path, "Mountain West sales")).values
    assert [v.value for v in values] == ["Mountain West"]


async def test_plurals_and_symbols_match_and_numbers_never_do(tmp_path: Path) -> None:
    values = (await found(tmp_path, "How many down jackets and tents & shelters sold in 12 months?")).values
    assert [v.value for v in values] == ["Tents & Shelters", "Down Jacket"]


async def test_the_text_result_says_how_to_filter_and_when_nothing_is_named(tmp_path: Path) -> None:
    async with Client(build_server(make_regions(tmp_path / "shop.db"))) as client:
        named = await client.call_tool("find_values", {"text": "North revenue"})
        nothing = await client.call_tool("find_values", {"text": "Total revenue"})
    assert '\'North\' (regions.name): aggregate filter {"dimension": "region", "value": "North"}' in text(
        named
    )
    assert "names no value" in text(nothing)


async def test_a_column_with_too_many_values_is_skipped_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_values, "MAX_VALUES", 2)
    result = await found(tmp_path, "West")
    assert result.values == [] and "regions.name" in result.skipped
