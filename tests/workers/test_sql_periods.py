"""Periods the SQL worker's tools accept: absolute forms, ranges of years, and periods relative to today."""

from __future__ import annotations

from datetime import date

import pytest

from echelon.servers.workers.sql._periods import parse_period

TODAY = date(2026, 2, 10)


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("last year", "2025"),
        ("This Year", "2026"),
        ("previous  quarter", "2025-Q4"),
        ("this quarter", "2026-Q1"),
        ("last month", "2026-01"),
        ("current month", "2026-02"),
        ("last_year", "2025"),
        ("this-quarter", "2026-Q1"),
    ],
)
def test_a_period_relative_to_today_is_the_absolute_period_it_means(given: str, meant: str) -> None:
    assert parse_period(given, TODAY) == parse_period(meant)


@pytest.mark.parametrize("given", ["2024..2025", "2024-2025", "2024 to 2025"])
def test_a_range_of_years_covers_both_years(given: str) -> None:
    period = parse_period(given)
    assert (period.text, period.params, period.start) == ("2024..2025", ("2024", "2025"), "2024-01-01")
    assert period.condition == "substr({col}, 1, 4) BETWEEN ? AND ?"


def test_a_range_of_one_year_is_that_year_and_a_backward_range_is_refused() -> None:
    assert parse_period("2025-2025") == parse_period("2025")
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_period("2025..2024")


def test_an_unknown_period_names_every_accepted_form() -> None:
    with pytest.raises(ValueError, match="'last year'") as raised:
        parse_period("next decade")
    assert "'2024..2025' (years)" in str(raised.value)
