import pytest

from echelon.servers.core._expand import expand

VARIABLES = {"HOME_DIR": "/home/ada", "EMPTY": "", "DATA": "/data"}


def expanded(text: str) -> tuple[str, list[str]]:
    return expand(text, VARIABLES.get)


def test_a_set_variable_is_replaced_and_its_default_ignored() -> None:
    assert expanded("${HOME_DIR}/x and ${HOME_DIR:-/elsewhere}") == ("/home/ada/x and /home/ada", [])


@pytest.mark.parametrize("name", ["UNSET", "EMPTY"])
def test_an_unset_or_empty_variable_takes_its_default_which_may_hold_references(name: str) -> None:
    assert expanded(f"${{{name}:-${{DATA}}/demo}}/db.sqlite") == ("/data/demo/db.sqlite", [])


def test_defaults_nest_and_keep_their_own_braces() -> None:
    assert expanded("${A:-${B:-${DATA}}}") == ("/data", [])
    assert expanded('${A:-{"k": 1}}') == ('{"k": 1}', [])


def test_an_unused_default_is_not_checked() -> None:
    assert expanded("${DATA:-${UNSET}}") == ("/data", [])


def test_an_unset_variable_without_a_default_is_a_problem_that_suggests_one() -> None:
    text, problems = expanded("${UNSET}/x")
    assert text == "${UNSET}/x"
    assert problems == [
        "${UNSET} is not set (an environment variable or a built-in); set it or give a default: ${UNSET:-value}"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a ${DATA:-x", "unclosed '${' in 'a ${DATA:-x': write ${NAME} or ${NAME:-default}"),
        ("${1X}", "'${1X}' is not a reference: write ${NAME} or ${NAME:-default}"),
        ("${DATA-x}", "'${DATA-x}' is not a reference: write ${NAME} or ${NAME:-default}"),
    ],
)
def test_a_malformed_reference_is_a_problem_naming_the_right_form(text: str, problem: str) -> None:
    assert expanded(text)[1] == [problem]


def test_text_without_references_and_a_lone_dollar_stay_as_they_are() -> None:
    assert expanded("price $5 {not a ref}") == ("price $5 {not a ref}", [])
