"""Which columns of a view are sums over the rows of the one table it reads."""

from echelon.servers.workers.sql._lineage import summed_columns

MEASURES = {"sum(sales.quantity)", "sum(sales.revenue)", "count(sales)", "sum(orders.total)"}
SUMMARY = """CREATE VIEW monthly AS
    SELECT substr(s.sale_date, 1, 7) AS month, r.name AS region, COUNT(*) AS lines,
           SUM(s.quantity) AS units, ROUND(SUM(s.revenue), 2) AS revenue, AVG(s.revenue) AS mean
    FROM sales s JOIN regions r ON r.region_id = s.region_id
    GROUP BY month, r.name"""


def test_summed_and_counted_columns_of_a_view_map_to_the_same_totals_of_its_table() -> None:
    assert summed_columns(SUMMARY, {"sales": {"region_id"}}, MEASURES) == {
        "lines": "count(sales)",
        "units": "sum(sales.quantity)",
        "revenue": "sum(sales.revenue)",
    }


def test_a_view_that_may_drop_rows_maps_nothing() -> None:
    # An inner join that does not follow a foreign key of the table may drop rows.
    assert summed_columns(SUMMARY, {"sales": set()}, MEASURES) == {}
    filtered = (
        "CREATE VIEW v AS SELECT customer_id, SUM(total) AS total FROM orders WHERE total > 9 GROUP BY 1"
    )
    assert summed_columns(filtered, {}, MEASURES) == {}
    union = "CREATE VIEW v AS SELECT SUM(total) AS total FROM orders UNION SELECT 1"
    assert summed_columns(union, {}, MEASURES) == {}
    assert summed_columns("not sql at all (", {}, MEASURES) == {}


def test_a_plain_grouping_view_maps_its_sum() -> None:
    view = "CREATE VIEW v AS SELECT customer_id, SUM(total) AS spent FROM orders GROUP BY customer_id"
    assert summed_columns(view, {}, MEASURES) == {"spent": "sum(orders.total)"}
