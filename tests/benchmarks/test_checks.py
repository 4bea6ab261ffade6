"""The checkers on hand-written answers: good answers in other wordings pass, wrong ones do not."""

import pytest

from benchmarks._checks import check, check_spec, says_unknown, verdict_of
from benchmarks._data_oracles import month_spellings
from benchmarks._expected import Expected, ExpectedFigure, Spec
from benchmarks._sql_concepts import concepts

REGIONS = [["Pacific Northwest"], ["Mountain West"], ["Great Lakes"], ["Northeast"], ["Southwest"]]
TOTAL = Spec(figures=[ExpectedFigure(label="revenue 2025", values=[2561617.68], unit="money")])
DECLINE = Spec(
    figures=[ExpectedFigure(label="change", values=[-11.08], unit="percent", abs_tol=0.05, sign="direction")]
)
FASTEST = Spec(names=[["Mountain West"]], ranked=REGIONS)


def right(spec: Spec, text: str, question: str = "") -> bool:
    return not check_spec(spec, text, question=question)


@pytest.mark.parametrize(
    "answer",
    [
        "Total revenue last year was $2,561,617.68.",
        "Revenue in 2025: $2,561,618",
        "We made about $2.56 million in 2025.",
        "2.6M in revenue",
        "Revenue reached 2,561,617 dollars.",
    ],
)
def test_a_total_is_right_in_full_rounded_or_in_millions(answer: str) -> None:
    assert right(TOTAL, answer)


@pytest.mark.parametrize(
    "answer", ["Revenue was $2.5 million.", "About $2,400,000.", "Roughly 3 million.", "Revenue was 2025."]
)
def test_a_total_off_by_more_than_its_rounding_is_wrong(answer: str) -> None:
    assert not right(TOTAL, answer)


@pytest.mark.parametrize(
    "answer",
    [
        "Southwest revenue changed by -11.1%.",
        "It fell 11.1% year over year.",
        "Southwest saw an 11.08% decrease.",
        "Down 11%: from $379,975 to $337,886.",
    ],
)
def test_a_decline_is_right_with_a_minus_sign_or_in_words(answer: str) -> None:
    assert right(DECLINE, answer)


@pytest.mark.parametrize(
    "answer", ["Southwest grew 11.1%.", "Revenue increased by 11.08%.", "It changed by 0%."]
)
def test_a_decline_stated_as_growth_or_as_nothing_is_wrong(answer: str) -> None:
    assert not right(DECLINE, answer)


def test_a_percent_figure_is_not_matched_by_a_money_amount() -> None:
    spec = Spec(figures=[ExpectedFigure(label="discount", values=[15], unit="percent")])
    assert right(spec, "Outfitters can get up to 15% off.")
    assert not right(spec, "Outfitters can get $15 off.")


def test_roots_need_their_signs() -> None:
    spec = Spec(
        figures=[
            ExpectedFigure(label="x = -2", values=[-2], sign="exact"),
            ExpectedFigure(label="x = 7", values=[7], sign="exact"),
        ]
    )
    assert right(spec, "x = 7 or x = \u22122")
    assert not right(spec, "x^2 - 5x - 14 = 0 gives x = 7 and x = 2")


def test_a_ranking_answer_that_names_the_winner_first_is_right() -> None:
    assert right(FASTEST, "Mountain West grew fastest (+29.7%), ahead of Great Lakes (+13.3%).")
    assert right(FASTEST, "**mountain west** grew the most.")


def test_a_ranking_answer_may_name_others_first_when_its_superlative_sentence_picks_the_winner() -> None:
    answer = "Southwest declined 11.1%. Mountain West grew fastest, at 29.7%; Great Lakes followed."
    assert right(FASTEST, answer)


def test_a_ranking_answer_that_picks_another_is_wrong_even_when_it_lists_the_winner() -> None:
    assert not right(FASTEST, "Great Lakes grew fastest. Mountain West grew 29.7% and Southwest fell.")
    assert not right(FASTEST, "Great Lakes, Mountain West and Northeast all grew.")
    assert not right(FASTEST, "Revenue grew 7.5% overall.")


def test_names_match_whatever_the_case_and_the_ampersand() -> None:
    spec = Spec(names=[["Tents & Shelters"]])
    assert right(spec, "The TENTS AND SHELTERS category.")
    assert not right(spec, "Tents sold well.")


def test_may_counts_as_a_month_only_when_capitalised() -> None:
    months = [month_spellings(2025, m, with_year=False) for m in range(1, 13)]
    july = Spec(names=[months[6]], ranked=months)
    assert right(july, "The data may show it clearly: July was the strongest month.")
    assert right(july, "2025-07 had the highest revenue ($288,728).")
    may = Spec(names=[months[4]], ranked=months)
    assert not right(may, "Revenue may have peaked in June.")
    assert right(may, "May was the best month.")


def test_a_month_asked_across_years_needs_its_year() -> None:
    months = [month_spellings(y, m, with_year=True) for y in (2024, 2025) for m in range(1, 13)]
    spec = Spec(names=[month_spellings(2025, 7, with_year=True)], ranked=months)
    assert right(spec, "July 2025 had the most orders (585).")
    assert right(spec, "The peak was 2025-07.")
    assert not right(spec, "July had the most orders.")
    assert not right(spec, "July 2024 had the most orders.")


def test_a_converted_time_is_right_in_12_or_24_hour_form() -> None:
    spec = Spec(times=["23:30"])
    assert right(spec, "9:30 AM in New York is 11:30 PM in Tokyo.")
    assert right(spec, "It is 23:30 in Tokyo.")
    assert not right(spec, "It is 9:30 in Tokyo.")
    assert not right(spec, "It is 11:30 in Tokyo.")


MATCH = Spec(figures=[ExpectedFigure(label="orders", values=[5062])], verdict="match")
MISMATCH = Spec(names=[["June"]], verdict="mismatch")


@pytest.mark.parametrize(
    "answer",
    [
        "Yes, the overview's 5,062 orders match the database.",
        "The database shows 5062 orders in 2025, consistent with the overview.",
        "There is no discrepancy: both say 5,062.",
    ],
)
def test_an_agreeing_answer_with_the_database_figure_is_right(answer: str) -> None:
    assert right(MATCH, answer)


@pytest.mark.parametrize(
    "answer",
    [
        "Yes, it matches.",
        "No, the database shows 5,062 orders, not 5,100.",
        "The figures do not match: 5,062.",
    ],
)
def test_an_agreement_needs_the_figure_and_no_disagreement(answer: str) -> None:
    assert not right(MATCH, answer)


@pytest.mark.parametrize(
    "answer",
    [
        "No. In 2024 the strongest month was June, not July.",
        "The brief says July, but the database shows June was stronger in 2024.",
        "That does not match: June 2024 had the most revenue.",
    ],
)
def test_a_disagreement_is_right_in_plain_words(answer: str) -> None:
    assert right(MISMATCH, answer)


def test_saying_the_document_is_right_when_it_is_not_is_wrong() -> None:
    assert not right(MISMATCH, "Yes, June was the strongest month, as the brief says.")
    assert verdict_of("Yes, that is correct.", "mismatch") == "match"


def test_a_sql_explanation_in_other_words_is_right_and_one_missing_a_concept_is_wrong() -> None:
    query = (
        "SELECT r.name, SUM(s.revenue) FROM sales s JOIN regions r ON r.region_id = s.region_id "
        "WHERE s.sale_date LIKE '2025%' GROUP BY r.name ORDER BY 2 DESC LIMIT 1"
    )
    spec = Spec(concepts=concepts(query))
    assert right(spec, "It adds up sales per region for 2025 and returns the region with the most.")
    assert right(spec, "The top region by total revenue in 2025.")
    assert not right(spec, "It returns the top region by total revenue.")
    assert not right(spec, "It lists the revenue of every sale in 2025.")


UNKNOWN = Spec(unknown=True, known_figures=[2381880.28, 2561617.68])


@pytest.mark.parametrize(
    "answer",
    [
        "The database only covers 2024 and 2025, so revenue for 2023 is not available.",
        "I don't have data for 2023.",
        "There is no sales data for 2023 in the database.",
        "That isn't recorded anywhere I can see; the earliest sale is from January 2024.",
        "Unknown: the data starts in 2024 (revenue that year was $2,381,880).",
    ],
)
def test_saying_the_data_does_not_have_it_is_right_with_years_and_the_datas_own_figures(answer: str) -> None:
    assert right(UNKNOWN, answer, question="What was our total revenue in 2023?")


@pytest.mark.parametrize(
    "answer",
    [
        "Revenue in 2023 was $2.1 million.",
        "There is no 2023 data, but at 7.5% growth it would have been about $2,215,000.",
        "Revenue was strong in 2023.",
    ],
)
def test_an_invented_figure_or_no_word_of_unknown_makes_an_unknown_answer_wrong(answer: str) -> None:
    assert not right(UNKNOWN, answer, question="What was our total revenue in 2023?")


def test_plain_small_numbers_are_not_claims_but_a_threshold_can_make_them_so() -> None:
    assert says_unknown("The documents don't mention employees; there are 5 regional directors.")
    assert right(UNKNOWN, "The documents don't mention employees; there are 5 regional directors.")
    strict = UNKNOWN.model_copy(update={"min_figure": 10.0})
    assert not right(strict, "We don't track headcount, but it is probably around 40 people.")


def test_a_deck_question_needs_a_deck_that_holds_the_figure() -> None:
    expected = Expected(shown="a deck", deck=TOTAL)
    assert check(expected, "Done: deck.pptx", decks=["Revenue\n2025: $2.56M"]).right
    assert not check(expected, "Done", decks=[]).right
    assert not check(expected, "Revenue was $2,561,618", decks=["A title only"]).right
    assert check(expected, "", decks=["A title only", "Revenue 2025: $2,561,618"]).right
