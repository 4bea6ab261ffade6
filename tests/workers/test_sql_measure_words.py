"""find_measures: the aggregate measures a request's words name, only when its words tell one from the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from echelon.servers.workers.sql import build_server
from tests.workers._calls import call
from tests.workers._shop_db import make_database

pytestmark = pytest.mark.anyio

SPEND = """
[measures.spend_per_customer]
table = "orders"
expression = "sum(total) / count(distinct customer_id)"
description = "Average spend of a buying customer"
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_database(tmp_path / "shop.db")


async def named(server_db: Path, text: str, measures: Path | None = None) -> list[str]:
    async with Client(build_server(server_db, measures=measures)) as client:
        result = await call(client, "find_measures", text=text)
    return [m["measure"] for m in result["measures"]]


async def test_counting_words_name_the_count_of_the_thing_counted(shop: Path) -> None:
    found = await named(shop, "How many orders did we get in 2024?")
    assert found[0] == "count(orders)" and "sum(orders.total)" not in found


async def test_a_business_measure_is_named_by_its_own_words_and_description(
    shop: Path, tmp_path: Path
) -> None:
    path = tmp_path / "measures.toml"
    path.write_text(SPEND, encoding="utf-8")
    assert await named(shop, "On average, how much did each customer spend?", path) == ["spend_per_customer"]


async def test_the_thing_a_question_ranks_is_not_taken_for_a_count_of_it(shop: Path) -> None:
    assert await named(shop, "Which customer had the biggest order?") == []


async def test_words_that_fit_many_measures_equally_name_none(shop: Path) -> None:
    async with Client(build_server(shop)) as client:
        result = await call(client, "find_measures", text="What about the total?")
        text = (await client.call_tool("find_measures", {"text": "What about the total?"})).content
    assert result["measures"] == []
    assert "fit no one measure better" in str(text)
