from benchmarks._numbers import clock_times, figures


def values(text: str) -> list[float]:
    return [f.value for f in figures(text)]


def test_money_with_thousands_separators_and_cents_is_read_whole() -> None:
    (found,) = figures("$2,561,617.68")
    assert found.value == 2561617.68
    assert found.money and found.half_unit == 0.005


def test_a_scale_word_multiplies_and_widens_the_rounding() -> None:
    million, short = figures("$2.56 million and 2.6M")
    assert (million.value, million.half_unit) == (2_560_000, 5_000)
    assert (short.value, short.half_unit) == (2_600_000, 50_000)


def test_a_minus_sign_before_a_figure_makes_it_negative_but_a_hyphen_between_digits_does_not() -> None:
    assert values("fell \u221211.1%") == [-11.1]
    assert values("x = -2 or x = 7") == [-2, 7]
    assert values("2025-07") == [2025, 7]
    assert values("5x-14") == [5, 14]
    assert values("minus 3") == [-3]


def test_a_lowercase_m_after_a_number_is_a_unit_not_millions() -> None:
    assert values("the Vertex Dynamic Rope 60m") == [60]


def test_percent_signs_and_words_mark_a_percent() -> None:
    assert [f.percent for f in figures("29.7% and 12 percent and 5 per cent and 8")] == [
        True,
        True,
        True,
        False,
    ]


def test_number_words_are_read_as_figures() -> None:
    assert values("a ten-year warranty") == [10]


def test_clock_times_in_24_hour_and_12_hour_forms_are_read_as_minutes() -> None:
    assert clock_times("9:30 AM in New York is 11:30 PM in Tokyo") == [570, 1410]
    assert clock_times("20:15 IST") == [1215]
    assert clock_times("at 8 pm, or 8.15 p.m.") == [1200, 1215]
    assert clock_times("12:00 am is midnight, 12 pm is noon") == [0, 720, 720, 0]


def test_a_decimal_number_or_a_bare_hour_is_not_taken_for_a_clock_time() -> None:
    assert clock_times("grew 29.70 points in 8 months") == []
