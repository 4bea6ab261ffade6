"""The question set and its oracles, on demo data generated into the suite's scratch folder."""

from collections import Counter
from datetime import date

import pytest

from benchmarks._checks import check
from benchmarks._demo import Demo, OracleError
from benchmarks._qset import KINDS, ORACLES, Question, load_questions, split_halves
from echelon.clients.cli import DEMO_REQUEST

QUESTIONS = load_questions()
BY_ID = {q.id: q for q in QUESTIONS}


@pytest.fixture(scope="module")
def demo() -> Demo:
    return Demo.load()


def test_the_set_has_at_least_44_questions_over_every_kind_and_every_demo_worker() -> None:
    assert len(QUESTIONS) >= 44
    assert set(KINDS) == {q.kind for q in QUESTIONS}
    assert {w for q in QUESTIONS for w in q.workers} == {"sql", "math", "docs", "time", "slides"}


def test_the_halves_are_equal_hold_every_kind_and_follow_the_split_rule() -> None:
    halves = Counter(q.half for q in QUESTIONS)
    assert halves["dev"] == halves["heldout"]
    for half in ("dev", "heldout"):
        assert {q.kind for q in QUESTIONS if q.half == half} == set(KINDS)
    assert {q.id: q.half for q in QUESTIONS} == split_halves(QUESTIONS)


def test_the_demo_question_is_the_readme_demo_request(demo: Demo) -> None:
    assert BY_ID["deck-demo-fastest-region"].request(demo) == DEMO_REQUEST


def test_every_question_gets_its_expected_answer_from_the_data(demo: Demo) -> None:
    for question in QUESTIONS:
        expected = question.expected(demo)
        spec = expected.deck or expected.answer
        assert spec.model_dump(exclude_defaults=True), question.id
        assert "{" not in question.request(demo), question.id


def test_a_request_says_last_year_as_the_data_does(demo: Demo) -> None:
    assert demo.years == (date.today().year - 2, date.today().year - 1)
    assert BY_ID["total-orders-first-year"].request(demo).endswith(f"in {demo.first}?")


def test_the_document_checks_compare_a_document_figure_with_the_database(demo: Demo) -> None:
    orders = BY_ID["check-overview-orders"].expected(demo)
    assert orders.answer.verdict == "match"
    assert orders.answer.figures[0].values == [
        demo.value("SELECT COUNT(DISTINCT order_id) FROM sales WHERE sale_date LIKE ?", f"{demo.last}-%")
    ]
    # The brief names the strongest month over both years; the first year alone peaks elsewhere.
    season = BY_ID["check-seasonality-peak"].expected(demo)
    assert season.answer.verdict == "mismatch"


def test_a_good_answer_from_the_data_passes_and_an_answer_about_the_wrong_denominator_does_not(
    demo: Demo,
) -> None:
    question = BY_ID["avg-order-value"]
    expected = question.expected(demo)
    per_order = expected.answer.figures[0].values[0]
    per_line = demo.value("SELECT AVG(revenue) FROM sales WHERE sale_date LIKE ?", f"{demo.last}-%")
    assert check(expected, f"The average order was ${per_order:,.2f}.").right
    assert not check(expected, f"The average order was ${per_line:,.2f}.").right


def test_a_no_answer_question_the_data_can_answer_is_refused(demo: Demo) -> None:
    with pytest.raises(OracleError, match="does hold an answer"):
        ORACLES["no_answer"](demo, schema_terms=["revenue"], document_terms=[], known_sql=[])
    with pytest.raises(OracleError, match="sales in"):
        ORACLES["no_answer"](demo, schema_terms=[], document_terms=[], known_sql=[], no_sales_in="last")


def test_a_question_with_bad_parameters_names_itself() -> None:
    broken = Question(
        id="x", kind="total", workers=["sql"], half="dev", text="t", oracle="total", params={"nope": 1}
    )
    with pytest.raises(OracleError, match="question x: oracle total"):
        broken.expected(Demo.load())
