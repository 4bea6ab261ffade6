"""The demo's business measures file: loaded by the demo's sql worker, each measure equal to hand-written SQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mcp import Client

import echelon.examples
from echelon.examples.company import demo_years, generate_database
from echelon.servers.workers.sql import build_server
from tests.workers._calls import call

pytestmark = pytest.mark.anyio

MEASURES = Path(echelon.examples.__file__).with_name("measures.toml")
EXPECTED = {
    "average_order_value": "SELECT sum(revenue) / count(DISTINCT order_id)",
    "revenue_per_customer": "SELECT sum(revenue) / count(DISTINCT customer_id)",
    "units_per_order": "SELECT sum(quantity) * 1.0 / count(DISTINCT order_id)",
    "average_selling_price": "SELECT sum(revenue) / sum(quantity)",
    "units_sold": "SELECT sum(quantity)",
}


async def test_each_demo_business_measure_equals_its_hand_written_sql(tmp_path: Path) -> None:
    database = generate_database(tmp_path / "sales.db")
    year = str(demo_years()[1])
    async with Client(build_server(database, measures=MEASURES)) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["aggregate"]
        got = {name: await call(client, "aggregate", measure=name, period=year) for name in EXPECTED}
    assert set(EXPECTED) <= set(tool.input_schema["properties"]["measure"]["enum"])
    with sqlite3.connect(database) as conn:
        for name, select in EXPECTED.items():
            (value,) = conn.execute(
                f"{select} FROM sales WHERE substr(sale_date, 1, 4) = ?", (year,)
            ).fetchone()
            assert got[name]["rows"][0]["value"] == pytest.approx(value), name


def test_the_demo_config_gives_its_sql_worker_the_measures_file() -> None:
    config = Path(echelon.examples.__file__).with_name("echelon.toml").read_text(encoding="utf-8")
    assert '"--measures", "${ECHELON_CONFIG_DIR}/measures.toml"' in config
