"""The SQL worker's aggregate tool and compare_periods, each figure checked against hand-written SQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from echelon.examples.company import demo_years, generate_database
from echelon.servers.workers.sql import build_server
from echelon.servers.workers.sql._spelling import nearest_value
from tests.workers._aggregate_data import groups, query, shop_database
from tests.workers._calls import call, call_error
from tests.workers._shop_db import make_database

pytestmark = pytest.mark.anyio

SHOP_MEASURES = [  # tables before views, the one with a foreign key first
    "count(orders)",
    "count_distinct(orders.customer_id)",
    "sum(orders.total)",
    "avg(orders.total)",
    "min(orders.total)",
    "max(orders.total)",
    "count(customers)",
    "count(big_orders)",
    "count_distinct(big_orders.id)",
    "count_distinct(big_orders.customer_id)",
    "sum(big_orders.total)",
    "avg(big_orders.total)",
    "min(big_orders.total)",
    "max(big_orders.total)",
]
ORDERS_DIMENSIONS = [
    "id",
    "total",
    "created",
    "year(created)",
    "quarter(created)",
    "month(created)",
    "customer",
    "customer.region",
]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return shop_database(tmp_path)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_database(tmp_path_factory.mktemp("demo") / "demo.db")


# --- what the tool offers --------------------------------------------------------------------------------------


async def test_the_measure_enum_lists_exactly_the_measures_derived_from_the_schema(shop: Path) -> None:
    async with Client(build_server(shop)) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["aggregate"]
    properties = tool.input_schema["properties"]
    assert properties["measure"]["enum"] == SHOP_MEASURES
    group_by = properties["group_by"]["anyOf"][0]["items"]["enum"]
    # The union over tables: orders' own columns, its customer's name and region, created's buckets; the
    # customers table's columns (not its blob); the view's columns (it has no foreign key).
    assert group_by == sorted({*ORDERS_DIMENSIONS, "name", "region", "customer_id"})
    assert properties["date_column"]["anyOf"][0]["enum"] == ["created"]
    assert tool.output_schema is not None and "summary" not in tool.output_schema["properties"]


async def test_counting_an_id_column_is_described_as_counting_each_thing_once(shop: Path) -> None:
    async with Client(build_server(shop)) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["aggregate"]
    assert tool.description is not None
    counting = tool.description.split("Counting things: ", 1)[1]
    # Each table's id column, named by what it identifies; a primary key is already the row count.
    assert counting == (
        "count_distinct(orders.customer_id) counts each customer once; "
        "count_distinct(big_orders.customer_id) counts each customer once."
    )


async def test_the_aggregate_arguments_become_a_llama_cpp_grammar(shop: Path) -> None:
    grammar_module = pytest.importorskip("llama_cpp.llama_grammar")
    from echelon.servers.core.llm._local_server import WireFunction, tool_call_schema

    async with Client(build_server(shop)) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["aggregate"]
    wire = WireFunction(name=tool.name, description=tool.description or "", parameters=tool.input_schema)
    grammar = grammar_module.LlamaGrammar.from_json_schema(
        json.dumps(tool_call_schema([wire], True, None)), verbose=False
    )
    text = grammar._grammar  # pyright: ignore[reportPrivateUsage]
    assert all(name in text for name in ("sum(orders.total)", "count_distinct(orders.customer_id)"))


# --- figures against an oracle ---------------------------------------------------------------------------------


async def test_a_ranking_equals_a_hand_written_group_by(shop: Path) -> None:
    result = await call(
        build_server(shop), "aggregate", period="all", measure="sum(orders.total)", group_by=["customer"]
    )
    expected = query(
        shop,
        "SELECT c.name, sum(o.total) FROM orders o JOIN customers c ON c.id = o.customer_id "
        "GROUP BY c.id ORDER BY 2 DESC",
    )
    assert groups(result) == [tuple(r) for r in expected]
    assert result["overall"] == {"group": {}, "value": query(shop, "SELECT sum(total) FROM orders")[0][0]}
    assert result["group_by"] == ["customer"] and result["table"] == "orders"
    assert result["row_count"] == 3 and result["truncated"] is False
    assert all(set(row) == {"group", "value"} for row in result["rows"])  # no comparison fields


async def test_the_sql_returned_reproduces_the_rows(shop: Path) -> None:
    result = await call(
        build_server(shop),
        "aggregate",
        measure="avg(orders.total)",
        group_by=["customer.region"],
        filters=[{"dimension": "customer", "op": "!=", "value": "Bob"}],
        period="2024",
    )
    rerun = query(shop, result["sql"], result["parameters"])
    assert [(r[0], round(r[1], 6)) for r in rerun] == groups(result)
    expected = query(
        shop,
        "SELECT c.region, avg(o.total) FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE c.name != 'Bob' AND o.created LIKE '2024%' GROUP BY c.region ORDER BY 2 DESC",
    )
    assert groups(result) == [(region, round(value, 6)) for region, value in expected]
    assert result["definition"] == "AVG(orders.total)"


@pytest.mark.parametrize(
    ("condition", "where", "params"),
    [
        ({"dimension": "customer", "op": "=", "value": "Ada"}, "c.name = ?", ("Ada",)),
        ({"dimension": "customer", "op": "in", "value": ["Ada", "Cy"]}, "c.name IN (?, ?)", ("Ada", "Cy")),
        ({"dimension": "customer.region", "op": "like", "value": "%th"}, "c.region LIKE ?", ("%th",)),
        ({"dimension": "total", "op": ">=", "value": 200}, "o.total >= ?", (200,)),
        ({"dimension": "total", "op": "<", "value": 200.5}, "o.total < ?", (200.5,)),
        (
            {"dimension": "month(created)", "op": "<=", "value": "2024-06"},
            "substr(o.created, 1, 7) <= ?",
            ("2024-06",),
        ),
        ({"dimension": "quarter(created)", "op": ">", "value": "2024-Q2"}, "o.created >= '2024-07'", ()),
    ],
)
async def test_filters_select_the_same_rows_as_a_where_clause(
    shop: Path, condition: dict[str, Any], where: str, params: tuple[Any, ...]
) -> None:
    result = await call(
        build_server(shop),
        "aggregate",
        period="all",
        measure="count(orders)",
        group_by=["year(created)"],
        filters=[condition],
    )
    expected = query(
        shop,
        "SELECT substr(o.created, 1, 4), count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
        f"WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1",
        params,
    )
    assert groups(result) == [tuple(r) for r in expected]


async def test_time_buckets_give_a_time_series_and_its_peak(demo: Path) -> None:
    server = build_server(demo)
    last = str(demo_years()[1])
    peak = await call(
        server, "aggregate", measure="sum(sales.revenue)", group_by=["month(sale_date)"], period=last, limit=1
    )
    expected = query(
        demo,
        "SELECT substr(sale_date, 1, 7), sum(revenue) FROM sales WHERE sale_date LIKE ? || '%' "
        "GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
        (last,),
    )
    assert groups(peak) == [(expected[0][0], round(expected[0][1], 6))]
    assert peak["truncated"] is True and peak["period"] == last
    series = await call(
        server,
        "aggregate",
        period="all",
        measure="count(sales)",
        group_by=["quarter(sale_date)"],
        order="group",
    )
    quarters = query(
        demo,
        "SELECT substr(sale_date, 1, 4) || '-Q' || ((CAST(substr(sale_date, 6, 2) AS INTEGER) + 2) / 3), count(*) "
        "FROM sales GROUP BY 1 ORDER BY 1",
    )
    assert groups(series) == [tuple(r) for r in quarters] and len(quarters) == 8


async def test_averages_follow_the_measure_denominator(demo: Path) -> None:
    server = build_server(demo)
    per_line = await call(
        server, "aggregate", period="all", measure="avg(sales.revenue)", group_by=["region"]
    )
    expected = query(
        demo,
        "SELECT r.name, avg(s.revenue) FROM sales s JOIN regions r USING (region_id) GROUP BY r.region_id ORDER BY 2 DESC",
    )
    assert groups(per_line) == [(name, round(value, 6)) for name, value in expected]
    buyers = await call(
        server,
        "aggregate",
        period="all",
        measure="count_distinct(sales.customer_id)",
        group_by=["customer.segment"],
    )
    expected = query(
        demo,
        "SELECT c.segment, count(DISTINCT s.customer_id) FROM sales s JOIN customers c USING (customer_id) "
        "GROUP BY c.segment ORDER BY 2 DESC, 1",
    )
    assert groups(buyers) == [tuple(r) for r in expected]
    # Not the sum of the segments' counts: one customer is one customer overall.
    assert buyers["overall"]["value"] == query(demo, "SELECT count(DISTINCT customer_id) FROM sales")[0][0]


async def test_the_average_per_group_is_over_every_group_not_only_those_shown(shop: Path) -> None:
    result = await call(
        build_server(shop),
        "aggregate",
        period="all",
        measure="sum(orders.total)",
        group_by=["customer"],
        limit=1,
    )
    mean, count = query(
        shop, "SELECT avg(total), count(*) FROM (SELECT sum(total) AS total FROM orders GROUP BY customer_id)"
    )[0]
    assert result["truncated"] and result["per_group"] == {"mean": round(mean, 6), "groups": count}
    compared = await call(
        build_server(shop),
        "aggregate",
        period="2024",
        compare_to="2023",
        measure="sum(orders.total)",
        group_by=["customer"],
    )
    ungrouped = await call(build_server(shop), "aggregate", period="all", measure="sum(orders.total)")
    assert "per_group" not in compared and "per_group" not in ungrouped


# --- errors name the argument and the choices ------------------------------------------------------------------


@pytest.fixture
def server(shop: Path) -> MCPServer:
    return build_server(shop, row_limit=5)


async def test_an_unknown_measure_lists_the_valid_ones(server: MCPServer) -> None:
    message = await call_error(server, "aggregate", period="all", measure="sum(orders.totl)")
    assert "measure 'sum(orders.totl)' is not one of this database's measures" in message
    assert "Did you mean 'sum(orders.total)'?" in message
    assert "Valid measures: " + ", ".join(SHOP_MEASURES) in message
    ambiguous = await call_error(
        server, "aggregate", period="all", measure="sum(total)"
    )  # orders or big_orders
    assert "Valid measures:" in ambiguous
    short = await call(server, "aggregate", period="all", measure="count(ORDERS)")
    assert short["measure"] == "count(orders)"


async def test_a_date_bucket_named_alone_is_that_bucket_of_the_table_s_date_column(server: MCPServer) -> None:
    by_month = await call(server, "aggregate", period="all", measure="sum(orders.total)", group_by=["Month"])
    written = await call(
        server, "aggregate", period="all", measure="sum(orders.total)", group_by=["month(created)"]
    )
    assert by_month["rows"] == written["rows"] and by_month["rows"]
    filtered = await call(
        server,
        "aggregate",
        period="all",
        measure="count(orders)",
        filters=[{"dimension": "year", "value": written["rows"][0]["group"]["month(created)"][:4]}],
    )
    assert filtered["rows"][0]["value"] > 0
    message = await call_error(
        server, "aggregate", period="all", measure="count(customers)", group_by=["month"]
    )
    assert "group_by 'month' is not a dimension of customers" in message  # customers has no date column


async def test_a_dimension_of_another_table_names_that_table_and_the_valid_ones(server: MCPServer) -> None:
    message = await call_error(
        server, "aggregate", period="all", measure="count(customers)", group_by=["customer"]
    )
    assert "group_by 'customer' is not a dimension of customers" in message
    assert "('customer' is a dimension of orders, not of customers)" in message
    assert "Valid for customers: id, name, region" in message
    bad_filter = await call_error(
        server,
        "aggregate",
        period="all",
        measure="count(orders)",
        filters=[{"dimension": "colour", "value": "red"}],
    )
    assert "filter dimension 'colour' is not a dimension of orders" in bad_filter
    assert "Valid for orders: " + ", ".join(ORDERS_DIMENSIONS) in bad_filter


async def test_a_bare_column_name_finds_the_one_dimension_it_can_mean(server: MCPServer) -> None:
    result = await call(server, "aggregate", period="all", measure="count(orders)", group_by=["region"])
    assert result["group_by"] == ["customer.region"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"filters": [{"dimension": "customer", "op": "in", "value": "Ada"}]},
            "op 'in' takes a non-empty list",
        ),
        ({"filters": [{"dimension": "customer", "op": "=", "value": ["Ada"]}]}, "use op 'in' for a list"),
        ({"filters": [{"dimension": "total", "op": "like", "value": 3}]}, "op 'like' takes a text pattern"),
        ({"period": "next spring"}, "period: unknown period 'next spring': use '2025' (a year)"),
        ({"period": "2025", "compare_to": "Q1"}, "compare_to: unknown period 'Q1'"),
        ({"compare_to": "2024"}, "compare_to needs period"),
        (
            {"order": "percent_change_desc", "period": "2025-Q1"},
            "order 'percent_change_desc' ranks the change between two periods: give period (the later) and "
            "compare_to (the earlier)",
        ),
        (
            {"date_column": "total", "period": "2024"},
            "date_column 'total' is not a date column of orders; its date columns: created",
        ),
        ({"group_by": ["customer", "customer"]}, "group_by names a dimension twice"),
    ],
)
async def test_bad_arguments_say_which_and_what_is_valid(
    server: MCPServer, arguments: dict[str, Any], expected: str
) -> None:
    assert expected in await call_error(
        server, "aggregate", measure="count(orders)", **{"period": "all", **arguments}
    )


async def test_periods_need_a_date_column_and_a_choice_among_several(tmp_path: Path) -> None:
    database = tmp_path / "two_dates.db"
    conn = sqlite3.connect(database)
    conn.executescript(
        "CREATE TABLE parcels (id INTEGER PRIMARY KEY, sent TEXT, delivered TEXT, weight REAL);"
        "INSERT INTO parcels VALUES (1, '2024-01-30', '2024-02-02', 2.5), (2, '2024-02-10', '2024-02-12', 1.0);"
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'x');"
    )
    conn.close()
    server = build_server(database)
    several = await call_error(server, "aggregate", measure="sum(parcels.weight)", period="2024-02")
    assert "parcels has several date columns (sent, delivered): pass date_column to choose one" in several
    sent = await call(
        server, "aggregate", measure="sum(parcels.weight)", period="2024-02", date_column="sent"
    )
    delivered = await call(
        server, "aggregate", measure="sum(parcels.weight)", period="2024-02", date_column="delivered"
    )
    assert (sent["rows"][0]["value"], delivered["rows"][0]["value"]) == (1.0, 3.5)
    none = await call_error(server, "aggregate", measure="count(notes)", period="2024")
    assert "notes has no date column" in none and "leave them out" in none


async def test_limit_caps_the_rows_and_says_when_it_cut(server: MCPServer) -> None:
    two = await call(
        server, "aggregate", period="all", measure="sum(orders.total)", group_by=["month(created)"], limit=2
    )
    assert two["row_count"] == 2 and two["truncated"] is True
    capped = await call(
        server, "aggregate", period="all", measure="sum(orders.total)", group_by=["month(created)"], limit=99
    )
    assert capped["row_count"] == 5  # the server's row limit
    ascending = await call(
        server,
        "aggregate",
        period="all",
        measure="sum(orders.total)",
        group_by=["customer"],
        order="value_asc",
    )
    assert [r["group"]["customer"] for r in ascending["rows"]] == ["Bob", "Ada", "Cy"]  # 1140, 1780, 1900


async def test_a_ranking_cut_to_one_group_also_gives_the_group_at_the_other_end(server: MCPServer) -> None:
    ranked = [
        await call(
            server, "aggregate", period="all", measure="sum(orders.total)", group_by=["customer"], order=order
        )
        for order in ("value_desc", "value_asc")
    ]
    for order, full in zip(("value_desc", "value_asc"), ranked, strict=True):
        top = await call(
            server,
            "aggregate",
            period="all",
            measure="sum(orders.total)",
            group_by=["customer"],
            order=order,
            limit=1,
        )
        assert top["rows"] == full["rows"][:1] and top["truncated"] is True
        assert top["last_in_order"] == full["rows"][-1]
    whole = await call(server, "aggregate", period="all", measure="sum(orders.total)", group_by=["customer"])
    assert "last_in_order" not in whole  # nothing was cut: the rows show both ends
    top_two = await call(
        server, "aggregate", period="all", measure="sum(orders.total)", group_by=["customer"], limit=2
    )
    assert (
        top_two["truncated"] is True and "last_in_order" not in top_two
    )  # a list of the top N: no other end


async def test_aggregate_stops_at_the_time_limit(tmp_path: Path) -> None:
    database = make_database(tmp_path / "slow.db")
    conn = sqlite3.connect(database)
    conn.execute(
        "CREATE VIEW forever AS WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c"
    )
    conn.close()
    server = build_server(database, timeout_seconds=0.3)
    message = await call_error(server, "aggregate", period="all", measure="count(forever)")
    assert "the aggregate exceeded 0.3 seconds and was stopped" in message


async def test_a_date_range_includes_the_first_month_of_a_month_column(tmp_path: Path) -> None:
    database = tmp_path / "monthly.db"
    conn = sqlite3.connect(database)
    conn.executescript(
        "CREATE TABLE monthly (month TEXT, amount REAL);"
        "INSERT INTO monthly VALUES ('2025-01', 1), ('2025-02', 2), ('2025-06', 4), ('2025-07', 8);"
    )
    conn.close()
    result = await call(
        build_server(database), "aggregate", measure="sum(monthly.amount)", period="2025-01-01..2025-06-30"
    )
    assert result["rows"] == [{"group": {}, "value": 7.0}]


async def test_a_filter_value_the_column_never_holds_lists_the_values_it_does(server: MCPServer) -> None:
    message = await call_error(
        server,
        "aggregate",
        period="all",
        measure="count(orders)",
        filters=[{"dimension": "customer", "value": "Bobby"}],
    )
    assert (
        "filters: customer = 'Bobby' matches no row at all; its values are 'Ada', 'Bob', 'Cy'. "
        "Use one of them, or leave the filter out to cover every customer"
    ) in message


async def test_a_never_held_filter_on_a_grouped_dimension_is_left_out_and_said_so(server: MCPServer) -> None:
    result = await call(
        server,
        "aggregate",
        period="all",
        measure="sum(orders.total)",
        group_by=["customer.region"],
        filters=[{"dimension": "customer.region", "value": "region"}],
    )
    assert sorted(r["group"]["customer.region"] for r in result["rows"]) == ["east", "north", "south"]
    assert result["note"].endswith(
        "the filter customer.region = 'region' matches no row at all and was left out: group_by gives one row "
        "for each customer.region"
    )


async def test_a_held_value_with_no_rows_in_the_period_is_an_empty_answer_not_an_error(
    server: MCPServer,
) -> None:
    result = await call(
        server,
        "aggregate",
        measure="sum(orders.total)",
        filters=[{"dimension": "customer.region", "value": "north"}],
        period="2023",
        date_column="created",
    )
    assert result["rows"] == [] or result["rows"][0]["value"] is None


async def test_a_sum_over_a_summary_view_by_a_dimension_it_lacks_is_the_same_sum_over_the_table_it_reads(
    demo: Path,
) -> None:
    server = build_server(demo)
    last = str(demo_years()[1])
    result = await call(
        server,
        "aggregate",
        measure="sum(monthly_region_revenue.revenue)",
        group_by=["product.category"],
        date_column="month",
        period=last,
    )
    expected = query(
        demo,
        "SELECT p.category, sum(s.revenue) FROM sales s JOIN products p USING (product_id) "
        "WHERE s.sale_date LIKE ? || '%' GROUP BY p.category ORDER BY 2 DESC",
        (last,),
    )
    assert groups(result) == [(name, round(value, 6)) for name, value in expected]
    assert result["measure"] == "sum(sales.revenue)"
    assert "sum(monthly_region_revenue.revenue) was computed as sum(sales.revenue)" in result["note"]
    assert "periods apply to sales.sale_date" in result["note"]
    rows = await call(
        server,
        "aggregate",
        period="all",
        measure="sum(monthly_region_revenue.order_lines)",
        group_by=["customer"],
    )
    assert rows["measure"] == "count(sales)"


async def test_a_view_that_leaves_rows_out_keeps_its_own_dimensions(server: MCPServer) -> None:
    # big_orders filters orders (WHERE total > 100): its sum is not the table's, so nothing moves.
    message = await call_error(
        server, "aggregate", period="all", measure="sum(big_orders.total)", group_by=["customer.region"]
    )
    assert "is not a dimension of big_orders" in message


async def test_a_filter_value_one_held_value_is_a_near_spelling_of_is_read_as_that_value(demo: Path) -> None:
    server = build_server(demo)
    name = query(demo, "SELECT name FROM products ORDER BY product_id LIMIT 1")[0][0]
    expected = query(
        demo,
        "SELECT sum(s.quantity) FROM sales s JOIN products p USING (product_id) WHERE p.name = ?",
        (name,),
    )[0][0]
    for given in (f"{name}s", name.upper(), f"  {name.lower()} "):
        result = await call(
            server,
            "aggregate",
            period="all",
            measure="sum(sales.quantity)",
            filters=[{"dimension": "product", "value": given}],
        )
        assert result["rows"] == [{"group": {}, "value": expected}]
        assert result["note"].endswith(
            "no row holds the filter value as given, so it was read as the one close value the column holds: "
            f"{given!r} as {name!r}"
        )


def test_only_one_clearly_nearest_value_is_taken_for_a_filter_text() -> None:
    held = ["Mountain West", "Great Lakes", "Southwest", "East", "West"]
    assert nearest_value("mountain-west", held) == "Mountain West"
    assert nearest_value("Great Lake", held) == "Great Lakes"
    assert nearest_value("Wast", held) is None  # short: only case and spacing may differ
    assert nearest_value("Northwest", held) is None  # not close enough to Southwest
    assert nearest_value("Camp Mug 2", ["Camp Mug 1", "Camp Mug 3"]) is None  # two as close


async def test_a_period_the_table_has_no_rows_in_says_which_dates_it_holds(demo: Path) -> None:
    server = build_server(demo)
    first, last = demo_years()
    result = await call(
        server,
        "aggregate",
        measure="sum(sales.revenue)",
        group_by=["region"],
        period=str(last + 1),
        compare_to=str(last),
    )
    start, end = query(demo, "SELECT min(sale_date), max(sale_date) FROM sales")[0]
    assert result["note"] == f"sales has no row in '{last + 1}': its sale_date runs from {start} to {end}"
    assert all(r["value"] is None and r["previous"] is not None for r in result["rows"])
    covered = await call(server, "aggregate", measure="sum(sales.revenue)", period=str(first))
    assert "note" not in covered


async def test_a_period_emptied_by_a_filter_is_a_true_empty_answer_with_no_note(server: MCPServer) -> None:
    result = await call(
        server,
        "aggregate",
        measure="sum(orders.total)",
        filters=[{"dimension": "customer.region", "value": "north"}],
        period="2025-04",
        date_column="created",
    )
    assert "note" not in result


async def test_a_change_ranked_without_periods_compares_the_last_year_the_data_holds_with_the_one_before(
    server: MCPServer, shop: Path
) -> None:
    implied = await call(
        server,
        "aggregate",
        period="all",
        measure="sum(orders.total)",
        group_by=["customer"],
        order="difference_desc",
    )
    explicit = await call(
        server,
        "aggregate",
        measure="sum(orders.total)",
        group_by=["customer"],
        period="2025",
        compare_to="2024",
        order="difference_desc",
    )
    assert implied["rows"] == explicit["rows"] and (implied["period"], implied["compare_to"]) == (
        "2025",
        "2024",
    )
    assert implied["note"] == (
        "no periods were given for order 'difference_desc': 2025, the last year orders.created holds, is "
        "compared with 2024"
    )
    year_given = await call(
        server, "aggregate", measure="sum(orders.total)", period="2025", order="percent_change_desc"
    )
    assert (year_given["period"], year_given["compare_to"]) == ("2025", "2024")
    assert (
        year_given["note"]
        == "no compare_to was given for order 'percent_change_desc': 2025 is compared with 2024"
    )

    years = await call(
        server, "aggregate", measure="sum(orders.total)", period="2024-2025", order="percent_change_desc"
    )
    assert (years["period"], years["compare_to"], years["rows"]) == ("2025", "2024", year_given["rows"])
    assert years["note"] == (
        "period '2024-2025' with order 'percent_change_desc' and no compare_to: 2025 is compared with 2024"
    )


LINES_SCHEMA = """
CREATE TABLE shops (shop_id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE lines (
    line_id INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL, day TEXT NOT NULL,
    shop_id INTEGER NOT NULL REFERENCES shops(shop_id), qty INTEGER NOT NULL, amount REAL NOT NULL
);
CREATE VIEW daily AS SELECT day, COUNT(*) AS lines, SUM(amount) AS amount FROM lines GROUP BY day;
"""


@pytest.fixture
def lines(tmp_path: Path) -> Path:
    """Tickets of several lines each, in two shops over two months: a ticket has no table of its own."""
    path = tmp_path / "lines.db"
    conn = sqlite3.connect(path)
    conn.executescript(LINES_SCHEMA)
    conn.executemany("INSERT INTO shops VALUES (?, ?)", [(1, "Harbour"), (2, "Station")])
    rows = [
        (
            ticket,
            f"2025-0{1 + ticket % 2}-1{ticket % 7}",
            1 + (ticket % 3 == 0),
            1 + (ticket * line) % 3,
            2.5 * line,
        )
        for ticket in range(1, 11)
        for line in range(1, 1 + ticket % 4 + 1)
    ]
    conn.executemany("INSERT INTO lines (ticket_id, day, shop_id, qty, amount) VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


async def test_a_key_column_of_a_thing_with_no_table_is_counted_under_the_things_name(lines: Path) -> None:
    server = build_server(lines)
    async with Client(server) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["aggregate"]
    names = tool.input_schema["properties"]["measure"]["enum"]
    # The fact table first, its things before its row count; a foreign key's count keeps its column's name,
    # and a view of groups has no row count (it would count groups).
    assert names[:3] == ["count(tickets)", "count(lines)", "count_distinct(lines.shop_id)"]
    assert "count(daily)" not in names and "sum(daily.amount)" in names
    tickets = await call(server, "aggregate", period="all", measure="count(tickets)", group_by=["shop"])
    expected = query(
        lines,
        "SELECT s.name, count(DISTINCT l.ticket_id) FROM lines l JOIN shops s USING (shop_id) GROUP BY 1 ORDER BY 2 DESC",
    )
    assert groups(tickets) == [tuple(r) for r in expected]
    assert tickets["overall"]["value"] == 10 and tickets["definition"] == "COUNT(DISTINCT lines.ticket_id)"


async def test_values_asked_for_every_date_say_which_dates_they_cover(shop: Path) -> None:
    result = await call(build_server(shop), "aggregate", period="all", measure="sum(orders.total)")
    first, last = query(shop, "SELECT min(created), max(created) FROM orders")[0]
    assert result["note"] == (
        f"the values are over every date: all rows of orders, whose created runs from {first} to {last}"
    )
    within = await call(build_server(shop), "aggregate", measure="sum(orders.total)", period="2024")
    assert "note" not in within


async def test_the_period_is_always_the_caller_s_choice_all_included(shop: Path) -> None:
    async with Client(build_server(shop)) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["aggregate"]
        missing = await client.call_tool("aggregate", {"measure": "sum(orders.total)"})
    assert tool.input_schema["required"] == ["measure", "period"]
    assert list(tool.input_schema["properties"])[:2] == ["measure", "period"]
    assert missing.is_error and "period" in str(missing.content[0])
