"""Comparing periods: aggregate's compare_to against plain SQL, and compare_periods, which gives the same figures
with arguments of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from echelon.examples.company import demo_years, generate_database
from echelon.servers.workers.sql import build_server
from tests.workers._aggregate_data import query, shop_database
from tests.workers._calls import call, call_error
from tests.workers._shop_db import make_database

pytestmark = pytest.mark.anyio


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return shop_database(tmp_path)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_database(tmp_path_factory.mktemp("demo") / "demo.db")


# --- compare_to against the oracle -----------------------------------------------------------------------------


async def test_compare_to_gives_both_periods_the_difference_and_the_percent_change(demo: Path) -> None:
    first, last = (str(y) for y in demo_years())
    result = await call(
        build_server(demo),
        "aggregate",
        measure="sum(sales.revenue)",
        group_by=["region"],
        period=last,
        compare_to=first,
    )
    rows = query(
        demo,
        "SELECT r.name, sum(CASE WHEN s.sale_date LIKE :a || '%' THEN s.revenue END),"
        " sum(CASE WHEN s.sale_date LIKE :b || '%' THEN s.revenue END)"
        " FROM sales s JOIN regions r USING (region_id) GROUP BY r.region_id",
        {"a": last, "b": first},
    )
    expected = sorted(
        (
            {
                "group": {"region": name},
                "value": round(now, 6),
                "previous": round(before, 6),
                "difference": round(round(now, 6) - round(before, 6), 6),
                "percent_change": round((round(now, 6) - round(before, 6)) / round(before, 6) * 100, 2),
            }
            for name, now, before in rows
        ),
        key=lambda r: -r["percent_change"],
    )
    assert result["rows"] == expected
    total_now, total_before = query(
        demo,
        "SELECT sum(CASE WHEN sale_date LIKE ? || '%' THEN revenue END),"
        " sum(CASE WHEN sale_date LIKE ? || '%' THEN revenue END) FROM sales",
        (last, first),
    )[0]
    assert (result["overall"]["value"], result["overall"]["previous"]) == (
        round(total_now, 6),
        round(total_before, 6),
    )
    assert (result["period"], result["compare_to"], result["date_column"]) == (last, first, "sale_date")
    # The same figures as the value without a comparison.
    alone = await call(
        build_server(demo), "aggregate", measure="sum(sales.revenue)", group_by=["region"], period=last
    )
    assert {r["group"]["region"]: r["value"] for r in alone["rows"]} == {
        r["group"]["region"]: r["value"] for r in result["rows"]
    }


async def test_periods_given_the_wrong_way_round_are_swapped_so_a_change_runs_from_earlier_to_later(
    demo: Path,
) -> None:
    first, last = (str(y) for y in demo_years())
    server = build_server(demo)
    right = await call(
        server, "aggregate", measure="sum(sales.revenue)", group_by=["region"], period=last, compare_to=first
    )
    reversed_ = await call(
        server, "aggregate", measure="sum(sales.revenue)", group_by=["region"], period=first, compare_to=last
    )
    assert reversed_["rows"] == right["rows"] and reversed_["overall"] == right["overall"]
    assert (reversed_["period"], reversed_["compare_to"]) == (last, first)
    assert "note" not in right and "swapped" in reversed_["note"]
    # Whatever order the rows come in, the extremes of the change are named.
    by_value = await call(
        server,
        "aggregate",
        measure="sum(sales.revenue)",
        group_by=["region"],
        period=last,
        compare_to=first,
        order="value_desc",
    )
    assert by_value["highest_percent_change"] == max(right["rows"], key=lambda r: r["percent_change"])
    assert by_value["lowest_percent_change"] == min(right["rows"], key=lambda r: r["percent_change"])
    quarters = await call(
        server,
        "compare_periods",
        table="sales",
        value_column="revenue",
        date_column="sale_date",
        from_period=f"{last}-Q4",
        to_period=f"{first}-01-01..{first}-12-31",
    )
    assert (quarters["from_period"], quarters["to_period"]) == (f"{first}-01-01..{first}-12-31", f"{last}-Q4")
    assert "swapped" in quarters["note"]


async def test_compare_periods_and_aggregate_compare_to_agree_exactly(demo: Path, shop: Path) -> None:
    first, last = (str(y) for y in demo_years())
    cases = [
        (demo, "sales", "revenue", "sale_date", "region", "sum", "sum(sales.revenue)", last, first),
        (
            demo,
            "sales",
            "quantity",
            "sale_date",
            "category",
            "avg",
            "avg(sales.quantity)",
            f"{last}-Q2",
            f"{first}-Q2",
        ),
        (shop, "orders", "total", "created", "customer_id", "count", "count(orders)", "2025", "2024"),
    ]
    for database, table, value, date, by, function, measure, later, earlier in cases:
        server = build_server(database)
        compared = await call(
            server,
            "compare_periods",
            table=table,
            value_column=value,
            date_column=date,
            group_by=by,
            aggregate=function,
            from_period=earlier,
            to_period=later,
        )
        aggregated = await call(
            server, "aggregate", measure=measure, group_by=[by], period=later, compare_to=earlier, limit=500
        )
        assert [
            (g["group"], g["from_value"], g["to_value"], g["difference"], g["percent_change"])
            for g in compared["groups"]
        ] == [
            (*r["group"].values(), r["previous"], r["value"], r["difference"], r["percent_change"])
            for r in aggregated["rows"]
        ]
        total = compared["total"]
        overall = aggregated["overall"]
        assert (total["from_value"], total["to_value"], total["percent_change"]) == (
            overall["previous"],
            overall["value"],
            overall["percent_change"],
        )
        assert compared["sql"] == aggregated["sql"]
        assert "summary" not in compared


# --- compare_periods keeps its arguments -----------------------------------------------------------------------


async def test_compare_periods_ranks_groups_and_names_foreign_keys(shop: Path) -> None:
    result = await call(
        build_server(shop),
        "compare_periods",
        table="orders",
        value_column="total",
        date_column="created",
        group_by="customer_id",
        from_period="2024",
        to_period="2025",
    )
    # 2024 totals: Ada 40*(1+4+7+10)=880, Bob 40*(2+5+8+11)=1040, Cy 40*(3+6+9+12)=1200.
    assert [(g["group"], g["from_value"], g["to_value"], g["percent_change"]) for g in result["groups"]] == [
        ("Ada", 880.0, 900.0, 2.27),
        ("Cy", 1200.0, 700.0, -41.67),
        ("Bob", 1040.0, 100.0, -90.38),
    ]
    assert result["total"] == {
        "group": "(all)",
        "from_value": 3120.0,
        "to_value": 1700.0,
        "difference": -1420.0,
        "percent_change": -45.51,
    }
    assert result["group_by"] == "customer"


async def test_compare_periods_groups_by_a_column_of_the_table_a_foreign_key_points_to(shop: Path) -> None:
    server = build_server(shop)
    base = {"table": "orders", "date_column": "created", "from_period": "2024", "to_period": "2025"}
    result = await call(server, "compare_periods", **base, value_column="total", group_by="region")
    assert result["group_by"] == "customer.region"
    assert [(g["group"], g["from_value"], g["to_value"]) for g in result["groups"]] == [
        ("north", 880.0, 900.0),
        ("east", 1200.0, 700.0),
        ("south", 1040.0, 100.0),
    ]
    # Asked of the table the groups live in, it compares the one table that refers to it and says so.
    by_customer = await call(
        server, "compare_periods", **{**base, "table": "customers"}, value_column="total", group_by="region"
    )
    assert (by_customer["table"], by_customer["group_by"]) == ("orders", "customer.region")
    assert by_customer["groups"] == result["groups"]
    assert (
        by_customer["note"] == "customers has no total by created; compared orders, which refers to customers"
    )
    # A foreign key named by what it points to ("customer", "customers") groups by that row's name.
    for word in ("customer", "customers"):
        named = await call(server, "compare_periods", **base, value_column="total", group_by=word)
        assert named["group_by"] == "customer"
        assert [g["group"] for g in named["groups"]] == ["Ada", "Cy", "Bob"]
    wrong_table = await call_error(
        server,
        "compare_periods",
        **{**base, "table": "customers", "date_column": "placed"},
        value_column="total",
    )
    assert "('total' is a column of: big_orders, orders)" in wrong_table


async def test_compare_periods_takes_quarters_months_date_ranges_and_counts(tmp_path: Path) -> None:
    server = build_server(make_database(tmp_path / "shop.db"))
    base = {"table": "orders", "value_column": "total", "date_column": "created"}
    quarters = await call(server, "compare_periods", **base, from_period="2024-Q1", to_period="2024-Q2")
    assert (quarters["total"]["from_value"], quarters["total"]["to_value"]) == (40.0 * 6, 40.0 * 15)
    assert quarters["total"]["percent_change"] == 150.0 and quarters["groups"] == []
    months = await call(server, "compare_periods", **base, from_period="2024-01", to_period="2024-12")
    assert (months["total"]["from_value"], months["total"]["to_value"]) == (40.0, 480.0)
    counted = await call(
        server,
        "compare_periods",
        **base,
        from_period="2024-01-01..2024-06-30",
        to_period="2024-07-01..2024-12-31",
        aggregate="count",
    )
    assert (counted["total"]["from_value"], counted["total"]["to_value"]) == (6, 6)


async def test_compare_periods_names_the_wrong_column_or_period_and_what_is_accepted(shop: Path) -> None:
    server = build_server(shop)
    base = {"table": "orders", "date_column": "created", "from_period": "2024", "to_period": "2025"}
    wrong_column = await call_error(server, "compare_periods", **base, value_column="amount")
    assert "value_column 'amount' is not a column of orders" in wrong_column
    assert "id, customer_id, total, created" in wrong_column
    wrong_period = await call_error(
        server, "compare_periods", **{**base, "to_period": "next spring"}, value_column="total"
    )
    assert "unknown period 'next spring'" in wrong_period and "'2025-Q3' (a quarter)" in wrong_period
    wrong_table = await call_error(
        server, "compare_periods", **{**base, "table": "sales"}, value_column="total"
    )
    assert "no such table: sales" in wrong_table and "orders" in wrong_table
    wrong_group = await call_error(server, "compare_periods", **base, value_column="total", group_by="colour")
    assert "group_by 'colour'" in wrong_group and "customer.region" in wrong_group
