"""Business measures from a TOML file: offered next to the derived ones, and every mistake reported at start-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mcp import Client

from echelon.examples.company import demo_years, generate_database
from echelon.servers.workers.sql import build_server
from echelon.servers.workers.sql.server import main
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


def measures_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "measures.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_a_business_measure_is_offered_described_and_computed(shop: Path, tmp_path: Path) -> None:
    server = build_server(shop, measures=measures_file(tmp_path, SPEND))
    async with Client(server) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["aggregate"]
        result = await call(
            client, "aggregate", period="all", measure="spend_per_customer", group_by=["customer.region"]
        )
    assert tool.input_schema["properties"]["measure"]["enum"][0] == "spend_per_customer"
    assert (
        "spend_per_customer = SUM(orders.total) / COUNT(DISTINCT orders.customer_id) "
        "(Average spend of a buying customer)" in (tool.description or "")
    )
    conn = sqlite3.connect(shop)
    expected = conn.execute(
        "SELECT c.region, sum(o.total) / count(DISTINCT o.customer_id) FROM orders o "
        "JOIN customers c ON c.id = o.customer_id GROUP BY c.region ORDER BY 2 DESC"
    ).fetchall()
    overall = conn.execute("SELECT sum(total) / count(DISTINCT customer_id) FROM orders").fetchone()
    conn.close()
    assert [(r["group"]["customer.region"], r["value"]) for r in result["rows"]] == expected
    assert result["overall"]["value"] == overall[0]
    assert result["description"] == "Average spend of a buying customer"
    assert result["definition"] == "SUM(orders.total) / COUNT(DISTINCT orders.customer_id)"


async def test_a_business_measure_compares_periods_with_its_own_denominator(tmp_path: Path) -> None:
    demo = generate_database(tmp_path / "demo.db")
    spec = measures_file(
        tmp_path,
        '[measures.revenue_per_order]\ntable = "sales"\nexpression = "sum(revenue) / count(distinct order_id)"\n',
    )
    first, last = (str(y) for y in demo_years())
    result = await call(
        build_server(demo, measures=spec),
        "aggregate",
        measure="revenue_per_order",
        group_by=["region"],
        period=last,
        compare_to=first,
    )
    conn = sqlite3.connect(demo)
    expected = dict(
        (name, (round(now, 6), round(before, 6)))
        for name, now, before in conn.execute(
            "SELECT r.name,"
            " sum(CASE WHEN substr(s.sale_date, 1, 4) = :a THEN s.revenue END)"
            "  / count(DISTINCT CASE WHEN substr(s.sale_date, 1, 4) = :a THEN s.order_id END),"
            " sum(CASE WHEN substr(s.sale_date, 1, 4) = :b THEN s.revenue END)"
            "  / count(DISTINCT CASE WHEN substr(s.sale_date, 1, 4) = :b THEN s.order_id END)"
            " FROM sales s JOIN regions r USING (region_id) GROUP BY r.region_id",
            {"a": last, "b": first},
        )
    )
    conn.close()
    assert {r["group"]["region"]: (r["value"], r["previous"]) for r in result["rows"]} == expected
    # Per order, not per order line: the average line (avg(sales.revenue)) is a different, smaller figure.
    lines = await call(build_server(demo), "aggregate", measure="avg(sales.revenue)", period=last)
    assert lines["rows"][0]["value"] < min(now for now, _ in expected.values())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[measures.x\n", "not a readable TOML file"),
        ('[metrics.x]\ntable = "orders"\n', "metrics: Extra inputs are not permitted"),
        ('[measures.x]\ntable = "orders"\n', "measures.x.expression: Field required"),
        ('[measures.x]\ntable = "orders"\nexpression = "sum(total)"\nunit = "EUR"\n', "measures.x.unit"),
        ('[measures.x]\ntable = "sales"\nexpression = "sum(total)"\n', "[measures.x]: no table 'sales'; tables:"),
        ('[measures.x]\ntable = "orders"\nexpression = "sum(amount)"\n', "[measures.x]: 'amount' is not a column of orders; its columns are: id, customer_id, total, created"),
        ('[measures.x]\ntable = "orders"\nexpression = "total * 2"\n', "[measures.x]: expression 'total * 2' has no aggregate function"),
        ('[measures.x]\ntable = "orders"\nexpression = "sum(total) / total"\n', "[measures.x]: column 'total' is outside any aggregate"),
        ('[measures.x]\ntable = "orders"\nexpression = "sum(total) / (SELECT count(*) FROM customers)"\n', "[measures.x]: expression 'sum(total) / (SELECT count(*) FROM customers)' contains"),
        ('[measures.x]\ntable = "orders"\nexpression = "sum(customers.id)"\n', "[measures.x]: column 'customers.id' belongs to another table"),
        ('[measures.x]\ntable = "orders"\nexpression = "sum(total) over ()"\n', "no subqueries, window functions"),
        ('[measures.x]\ntable = "orders"\nexpression = "median(total) + sum(total)"\n', "[measures.x]: SQLite refuses expression 'median(total) + sum(total)': no such function: median"),
        ('[measures.x]\ntable = "orders"\nexpression = "sum(total"\n', "[measures.x]: expression 'sum(total' does not parse as SQLite"),
        ('[measures."sum(orders.total)"]\ntable = "orders"\nexpression = "sum(total)"\n', "a measure name is letters, digits and underscores"),
    ],
)  # fmt: skip
def test_a_bad_measures_file_names_the_file_the_measure_and_the_problem(
    shop: Path, tmp_path: Path, text: str, problem: str
) -> None:
    path = measures_file(tmp_path, text)
    with pytest.raises(ValueError) as raised:
        build_server(shop, measures=path)
    assert str(raised.value).startswith(f"{path}: ")
    assert problem in str(raised.value)


def test_a_missing_measures_file_stops_the_server_with_its_path(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(SystemExit) as exited:
        main(["--database", str(shop), "--measures", str(missing)])
    assert exited.value.code == 2
    assert f"measures file not found: {missing}" in capsys.readouterr().err
