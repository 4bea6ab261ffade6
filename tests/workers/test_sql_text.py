"""What a model reads of the SQL worker's results: a labelled table, without the SQL the structured form keeps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mcp import Client

from echelon.servers.core.pool import result_text
from echelon.servers.workers.sql import build_server
from tests.workers._shop_db import make_database

pytestmark = pytest.mark.anyio


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    database = make_database(tmp_path / "shop.db")
    with sqlite3.connect(database) as conn:  # a second year, to compare with
        conn.executemany(
            "INSERT INTO orders (customer_id, total, created) VALUES (?, ?, ?)",
            [(1, 500.0, "2025-03-01"), (2, 90.0, "2025-04-01"), (3, 310.0, "2025-05-01")],
        )
    return database


async def test_an_aggregate_reads_as_a_table_of_its_groups_while_its_structured_form_keeps_the_sql(
    shop: Path,
) -> None:
    async with Client(build_server(shop)) as client:
        result = await client.call_tool(
            "aggregate", {"measure": "sum(orders.total)", "period": "all", "group_by": ["customer"]}
        )
    assert result.structured_content is not None and "SELECT" in result.structured_content["sql"]
    text = result_text(result)
    assert "SELECT" not in text
    lines = text.splitlines()
    assert lines[0] == "sum(orders.total) by customer:"
    assert lines[1] == "| customer | sum(orders.total) |"
    rows = result.structured_content["rows"]
    assert lines[3] == f"| {rows[0]['group']['customer']} | {rows[0]['value']} |"
    assert f"overall, all groups together: {result.structured_content['overall']['value']}" in text
    assert f"average per customer (3 groups): {result.structured_content['per_group']['mean']}" in text


async def test_a_cut_ranking_reads_with_how_many_groups_there_are_and_the_one_at_the_other_end(
    shop: Path,
) -> None:
    async with Client(build_server(shop)) as client:
        result = await client.call_tool(
            "aggregate",
            {"measure": "sum(orders.total)", "period": "all", "group_by": ["customer"], "limit": 1},
        )
    assert result.structured_content is not None
    last = result.structured_content["last_in_order"]
    lines = result_text(result).splitlines()
    assert "(only the first 1 groups are shown; there are 3 in all)" in lines
    assert (
        f"the last of all groups in this order, with the lowest sum(orders.total): "
        f"{last['group']['customer']}: {last['value']}"
    ) in lines


async def test_a_comparison_labels_each_value_with_its_period_and_the_change_as_a_percent(shop: Path) -> None:
    async with Client(build_server(shop)) as client:
        result = await client.call_tool(
            "aggregate",
            {
                "measure": "sum(orders.total)",
                "group_by": ["customer"],
                "period": "2025",
                "compare_to": "2024",
            },
        )
    assert result.structured_content is not None
    text = result_text(result)
    assert text.splitlines()[1] == (
        "| customer | sum(orders.total) 2025 | sum(orders.total) 2024 | difference | percent_change |"
    )
    changes = [row["percent_change"] for row in result.structured_content["rows"] if "percent_change" in row]
    assert changes and all(f"| {change}% |" in text for change in changes)


async def test_a_query_reads_as_a_table_with_its_row_count(shop: Path) -> None:
    async with Client(build_server(shop)) as client:
        result = await client.call_tool(
            "run_query", {"sql": "SELECT name FROM customers ORDER BY name", "limit": 2}
        )
    assert result.structured_content is not None
    names = [row[0] for row in result.structured_content["rows"]]
    assert result_text(result) == (
        f"| name |\n|---|\n| {names[0]} |\n| {names[1]} |\n(2 rows; the query had more, cut at the limit of 2)"
    )


async def test_a_grouped_maximum_says_it_is_a_single_row_and_what_ranks_totals(shop: Path) -> None:
    async with Client(build_server(shop)) as client:
        grouped = await client.call_tool(
            "aggregate", {"measure": "max(orders.total)", "period": "all", "group_by": ["customer"]}
        )
        total = await client.call_tool(
            "aggregate", {"measure": "sum(orders.total)", "period": "all", "group_by": ["customer"]}
        )
    assert (
        "max(orders.total) is each group's single largest row, not its total: the group with the most or least "
        "in all is ranked by sum(orders.total)" in result_text(grouped)
    )
    assert "single" not in result_text(total)
