import pytest

from benchmarks._sql_concepts import concepts


def firsts(query: str) -> list[str]:
    return [words[0] for words in concepts(query)]


def test_an_aggregate_query_gives_its_function_measure_grouping_order_and_year() -> None:
    query = (
        "SELECT r.name, SUM(s.revenue) FROM sales s JOIN regions r ON r.region_id = s.region_id "
        "WHERE s.sale_date LIKE '2025%' GROUP BY r.name ORDER BY 2 DESC LIMIT 1"
    )
    assert firsts(query) == ["total", "revenue", "region", "highest", "2025"]


def test_an_ascending_order_with_a_limit_is_the_lowest() -> None:
    query = "SELECT p.category, SUM(s.quantity) AS units FROM sales s JOIN products p USING (product_id) GROUP BY 1 ORDER BY units LIMIT 3"
    assert firsts(query) == ["total", "quantity", "category", "lowest"]


def test_a_ratio_of_aggregates_is_said_as_per_its_parts() -> None:
    query = (
        "SELECT c.segment, SUM(s.revenue) / COUNT(DISTINCT s.customer_id) FROM sales s "
        "JOIN customers c ON c.customer_id = s.customer_id GROUP BY c.segment"
    )
    assert firsts(query) == ["per", "revenue", "customer", "segment"]


def test_a_month_bucket_of_a_date_is_said_as_month() -> None:
    query = "SELECT strftime('%Y-%m', sale_date), COUNT(*) FROM sales GROUP BY 1"
    assert firsts(query) == ["count", "month"]


def test_unreadable_sql_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not readable SQL"):
        concepts("SELECT FROM WHERE (")
