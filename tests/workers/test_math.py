"""The math worker in-process: every tool, the safe parser, and the size limits that stop CPU bombs."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
from multiprocessing import forkserver
from pathlib import Path

import anyio
import psutil
import pytest
import sympy
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from echelon.servers.workers.math import build_server
from echelon.servers.workers.math._limit import run_limited
from echelon.servers.workers.math._parse import MAX_LENGTH, parse_equation, parse_expression, parse_symbol
from echelon.servers.workers.math._results import Evaluation, MathError, Transformed
from echelon.servers.workers.math._stats import percent_change, summarize
from tests.workers._calls import call, call_error

pytestmark = pytest.mark.anyio
MATH_TOOLS = {
    "evaluate",
    "solve",
    "simplify",
    "differentiate",
    "integrate",
    "statistics",
    "percent_change",
    "growth_rate",
}


@pytest.fixture
def server() -> MCPServer:
    return build_server()


async def test_every_tool_has_a_description_and_described_arguments(server: MCPServer) -> None:
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == MATH_TOOLS
    for tool in tools.values():
        assert tool.description, tool.name
        assert tool.output_schema is not None, tool.name
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("description"), f"{tool.name}.{name}"


# --- the parser ------------------------------------------------------------------------------------------------

x, y = sympy.symbols("x y")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x^2 + 1", x**2 + 1),  # ^ is power, with power's precedence
        ("2*x**3 - x", 2 * x**3 - x),
        ("  sin(x)^2 + cos(y)", sympy.sin(x) ** 2 + sympy.cos(y)),
        ("0.1 + 0.2", sympy.Rational(3, 10)),  # decimals are exact
        ("1.5e3", sympy.Integer(1500)),
        ("ln(E) + log(8, 2) + abs(-2) + Abs(-1)", sympy.Integer(7)),
        ("sqrt(8)", 2 * sympy.sqrt(2)),
        ("pi + oo", sympy.oo),
        ("I^2", sympy.Integer(-1)),
        ("-x + +y", -x + y),
        ("7 % 3", sympy.Integer(1)),
        ("factorial(5) / 4", sympy.Integer(30)),
    ],
)
def test_parser_builds_sympy_objects(text: str, expected: sympy.Expr) -> None:
    assert parse_expression(text) == expected


@pytest.mark.parametrize(
    ("text", "what", "column"),
    [
        ("__import__('os').system('echo hi')", "attribute access '.system'", 17),
        ("().__class__", "attribute access '.__class__'", 3),
        ("lambda: 1", "lambda", 1),
        ("[x for x in y]", "list comprehension", 1),
        ("__import__('os')", "call to '__import__'", 1),
        ("x + __builtins__", "name '__builtins__'", 5),
        ("eval('1')", "call to 'eval'", 1),
        ("x.real", "attribute access '.real'", 2),
        ("a[0]", "subscript", 1),
        ("'text'", "string literal", 1),
        ("sin(x=1)", "keyword argument in call to 'sin'", 7),
        ("x if y else 2", "conditional expression", 1),
        ("(x := 2)", "assignment expression", 2),
        ("{1: 2}", "dict", 1),
        ("(1, 2)", "tuple", 1),
        ("x // 2", "operator '//'", 1),
        ("~x", "operator '~'", 1),
        ("True", "constant True", 1),
        ("1j", "complex literal", 1),
        ("(x + 1)(2)", "calling something that is not a function name", 1),
        ("x < 2", "comparison", 1),
        ("2^x + f'{x}'", "f-string", 7),  # columns count the user's ^, not the ** it becomes
    ],
)
def test_parser_refuses_everything_outside_the_allow_list(text: str, what: str, column: int) -> None:
    with pytest.raises(MathError) as refused:
        parse_expression(text)
    message = str(refused.value)
    assert message.startswith(f"not allowed: {what}"), message
    assert message.endswith(f" at column {column}"), message


async def test_eval_attempts_never_run(server: MCPServer, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for attempt in (
        f"__import__('os').system('touch {marker}')",
        "().__class__.__bases__[0].__subclasses__()",
        f"lambda: __import__('os').system('touch {marker}')",
        f"[__import__('os').system('touch {marker}') for x in y]",
        f"open('{marker}', 'w')",
    ):
        for tool, args in (
            ("evaluate", {"expression": attempt}),
            ("simplify", {"expression": attempt}),
            ("solve", {"equations": f"{attempt} = 0"}),
            ("differentiate", {"expression": attempt, "variable": "x"}),
        ):
            message = await call_error(server, tool, **args)
            assert "not allowed" in message, (tool, attempt, message)
    assert not marker.exists()


def test_parser_explains_syntax_errors_and_implicit_multiplication() -> None:
    with pytest.raises(
        MathError, match=r"could not parse the expression: .* at column 1 \(write multiplication"
    ):
        parse_expression("2x + 1")
    with pytest.raises(MathError, match="could not parse the expression"):
        parse_expression("x +")
    with pytest.raises(MathError, match="needs arguments"):
        parse_expression("sin + 1")
    with pytest.raises(MathError, match="bad call to sin"):
        parse_expression("sin(x, y)")
    with pytest.raises(MathError, match="empty"):
        parse_expression("   ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10**10**10", "power too large"),
        ("9^9^9", "power too large"),
        ("2**100000", "power too large"),
        ("(10**4000) * (10**4000)", "number too large"),
        ("1e99999999", "number too large"),
        ("factorial(10**6)", "argument too large for factorial"),
        ("gamma(10**9)", "argument too large for gamma"),
        ("binomial(10**9, 5)", "argument too large for binomial"),
        ("x**100000", "exponent too large"),
        ("(sqrt(2))**100000000", "exponent too large"),
    ],
)
def test_parser_refuses_cpu_bombs_by_their_size_before_computing_them(text: str, message: str) -> None:
    # The messages come from the size checks, so nothing was computed (timing is the benchmarks' job).
    with pytest.raises(MathError, match=message):
        parse_expression(text)


def test_parser_limits_length_and_nesting() -> None:
    with pytest.raises(MathError, match=f"the limit is {MAX_LENGTH}"):
        parse_expression("x+" * MAX_LENGTH + "x")
    with pytest.raises(MathError):
        parse_expression("-" * 1990 + "x")
    assert parse_expression("2**13000") == sympy.Integer(2) ** 13000  # large but within the limit


def test_equations_accept_single_equals_double_equals_and_bare_expressions() -> None:
    assert parse_equation("x**2 - 4 = 0") == x**2 - 4
    assert parse_equation("x^2 = 4") == x**2 - 4
    assert parse_equation("x^2 == 4") == x**2 - 4
    assert parse_equation("x^2 - 4") == x**2 - 4
    with pytest.raises(MathError, match="inequalities are not supported"):
        parse_equation("x <= 4")
    with pytest.raises(MathError, match="not allowed: name '__x' at column 5"):
        parse_equation("y = __x")


def test_parse_symbol_wants_a_plain_name() -> None:
    assert parse_symbol("rate_2") == sympy.Symbol("rate_2")
    with pytest.raises(MathError, match="not a variable name"):
        parse_symbol("x + 1")
    with pytest.raises(MathError, match="not a variable name"):
        parse_symbol("pi")


# --- algebra and calculus --------------------------------------------------------------------------------------


async def test_evaluate_gives_exact_numeric_and_latex(server: MCPServer) -> None:
    out = await call(server, "evaluate", expression="sqrt(8) + 0.1")
    assert out["exact"] == "1/10 + 2*sqrt(2)" and out["result"] == out["exact"]
    assert out["numeric"] == "2.92842712474619"
    assert out["value"] == pytest.approx(0.1 + 2 * math.sqrt(2))
    assert out["latex"] == r"\frac{1}{10} + 2 \sqrt{2}"
    assert out["free_symbols"] == []


async def test_evaluate_numeric_uses_the_requested_precision(server: MCPServer) -> None:
    out = await call(server, "evaluate", expression="pi", numeric=True, precision=40)
    assert out["result"] == "3.141592653589793238462643383279502884197"
    assert out["exact"] == "pi"


async def test_evaluate_symbolic_and_complex_values(server: MCPServer) -> None:
    symbolic = await call(server, "evaluate", expression="x^2 + 2*x*y")
    assert symbolic["exact"] == "x**2 + 2*x*y" and symbolic["numeric"] is None and symbolic["value"] is None
    assert symbolic["free_symbols"] == ["x", "y"]
    imaginary = await call(server, "evaluate", expression="sqrt(-4)")
    assert imaginary["exact"] == "2*I" and imaginary["value"] is None
    huge = await call(server, "evaluate", expression="2**13000")
    assert huge["value"] is None and len(huge["exact"]) == 3914


async def test_evaluate_refuses_bad_input_with_tool_errors(server: MCPServer) -> None:
    assert "power too large" in await call_error(server, "evaluate", expression="10**10**10")
    assert "not allowed: lambda" in await call_error(server, "evaluate", expression="lambda: 1")
    assert "precision" in await call_error(server, "evaluate", expression="pi", precision=100000)


async def test_solve_single_equation_in_both_forms(server: MCPServer) -> None:
    for text in ("x**2 - 4 = 0", "x^2 = 4"):
        out = await call(server, "solve", equations=text)
        assert out["variables"] == ["x"] and out["equations"] == ["x**2 - 4 = 0"]
        assert [s["values"] for s in out["solutions"]] == [{"x": "-2"}, {"x": "2"}]
        assert [s["numeric"] for s in out["solutions"]] == [{"x": -2.0}, {"x": 2.0}]


async def test_solve_systems_chosen_variables_and_complex_roots(server: MCPServer) -> None:
    system = await call(server, "solve", equations=["x + y = 10", "x - y = 2"])
    assert system["solutions"] == [{"values": {"x": "6", "y": "4"}, "numeric": {"x": 6.0, "y": 4.0}}]
    chosen = await call(server, "solve", equations="a*x + b = 0", variables=["x"])
    assert chosen["solutions"] == [{"values": {"x": "-b/a"}, "numeric": {}}]
    complex_roots = await call(server, "solve", equations="x^2 + 1 = 0")
    assert [s["values"]["x"] for s in complex_roots["solutions"]] == ["-I", "I"]
    assert all(s["numeric"] == {} for s in complex_roots["solutions"])  # no real value to report


async def test_solve_quintic_gives_root_objects_and_the_real_root(server: MCPServer) -> None:
    out = await call(server, "solve", equations="x**5 - x + 1 = 0")
    assert out["count"] == 5
    reals = [s["numeric"]["x"] for s in out["solutions"] if s["numeric"]]
    assert reals == [pytest.approx(-1.1673039782614187)]


async def test_solve_errors(server: MCPServer) -> None:
    assert "no variables" in await call_error(server, "solve", equations="2 = 3")
    assert "no equations" in await call_error(server, "solve", equations=[])
    assert "not allowed" in await call_error(server, "solve", equations="x = ().__class__")


async def test_simplify_differentiate_integrate(server: MCPServer) -> None:
    assert (await call(server, "simplify", expression="sin(x)^2 + cos(x)^2"))["result"] == "1"
    simplified = await call(server, "simplify", expression="(x^2 - 1)/(x - 1)")
    assert simplified == {"input": "(x**2 - 1)/(x - 1)", "result": "x + 1", "latex": "x + 1"}
    derivative = await call(server, "differentiate", expression="x^3 + sin(x)", variable="x")
    assert derivative["result"] == "3*x**2 + cos(x)"
    second = await call(server, "differentiate", expression="x^3", variable="x", order=2)
    assert second["result"] == "6*x"
    antiderivative = await call(server, "integrate", expression="x^2", variable="x")
    assert antiderivative["result"] == "x**3/3" and antiderivative["definite"] is False
    assert antiderivative["numeric"] is None


async def test_definite_integrals_exact_and_numeric(server: MCPServer) -> None:
    gauss = await call(server, "integrate", expression="exp(-x^2)", variable="x", lower="-oo", upper="oo")
    assert gauss["result"] == "sqrt(pi)" and gauss["evaluated"] is True
    assert gauss["value"] == pytest.approx(math.sqrt(math.pi))
    numbers = await call(server, "integrate", expression="x", variable="x", lower=0, upper=2.5)
    assert numbers["result"] == "25/8"
    no_closed_form = await call(server, "integrate", expression="x^x", variable="x", lower=0, upper=1)
    assert no_closed_form["evaluated"] is False
    assert no_closed_form["value"] == pytest.approx(0.7834305107121344)


async def test_integrate_and_differentiate_errors(server: MCPServer) -> None:
    assert "both lower and upper" in await call_error(
        server, "integrate", expression="x", variable="x", lower=0
    )
    assert "not a variable name" in await call_error(server, "differentiate", expression="x", variable="2*x")
    assert "order" in await call_error(server, "differentiate", expression="x", variable="x", order=0)


# --- the time limit --------------------------------------------------------------------------------------------


async def test_a_computation_past_the_time_limit_is_stopped() -> None:
    server = build_server(timeout_seconds=1.0)
    with anyio.fail_after(60):
        message = await call_error(server, "evaluate", expression="exp(exp(exp(10)))")
    assert "took longer than 1 seconds and was stopped" in message
    still = await call(server, "evaluate", expression="1 + 1")  # the server is unharmed
    assert still["exact"] == "2"


def test_run_limited_kills_the_child_process() -> None:
    with pytest.raises(ToolError, match=r"took longer than 0\.5 seconds"):
        run_limited("evaluate", ("exp(exp(exp(10)))", True, 15), 0.5, Evaluation)
    forkserver_pid = forkserver._forkserver._forkserver_pid  # pyright: ignore[reportAttributeAccessIssue]
    assert forkserver_pid is not None
    assert psutil.Process(forkserver_pid).children() == []  # the sleeping child is gone, not left running


def test_run_limited_reports_failures_and_returns_results() -> None:
    with pytest.raises(ToolError, match="sympy could not compute this: AttributeError"):
        run_limited("no_such_computation", (), 30, Transformed)
    with pytest.raises(ToolError, match="returned Transformed, not Evaluation"):
        run_limited("simplify", ("sin(x)**2 + cos(x)**2",), 30, Evaluation)
    assert run_limited("simplify", ("sin(x)**2 + cos(x)**2",), 30, Transformed).result == "1"


def test_the_math_worker_declares_its_tools_without_importing_sympy() -> None:
    # Only the forkserver that runs the computations loads sympy (about 40 MB); the worker's process does not.
    script = (
        "import sys; from echelon.servers.workers.math.server import build_server; build_server(); "
        "print('sympy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"


def test_build_server_rejects_a_bad_time_limit() -> None:
    with pytest.raises(ValueError, match="timeout_seconds"):
        build_server(timeout_seconds=0)


# --- statistics ------------------------------------------------------------------------------------------------


async def test_statistics_summary(server: MCPServer) -> None:
    out = await call(server, "statistics", values=[2, 4, 4, 4, 5, 5, 7, 9], percentiles=[0, 10, 50, 90, 100])
    assert out["count"] == 8 and out["sum"] == 40 and out["mean"] == 5 and out["median"] == 4.5
    assert out["modes"] == [4]
    assert out["pstdev"] == 2 and out["pvariance"] == 4
    assert out["variance"] == pytest.approx(32 / 7) and out["stdev"] == pytest.approx(math.sqrt(32 / 7))
    assert out["min"] == 2 and out["max"] == 9 and out["range"] == 7
    assert out["percentiles"] == {
        "0": 2,
        "10": pytest.approx(3.4),
        "50": 4.5,
        "90": pytest.approx(7.6),
        "100": 9,
    }


async def test_statistics_is_exact_on_decimals_and_single_values(server: MCPServer) -> None:
    out = await call(server, "statistics", values=[0.1, 0.2, 0.3])
    assert out["sum"] == 0.6 and out["mean"] == 0.2  # not 0.6000000000000001
    assert out["stdev"] == 0.1 and out["variance"] == 0.01  # not 0.09999999999999999
    assert out["percentiles"] == {"25": 0.15, "50": 0.2, "75": 0.25}
    single = await call(server, "statistics", values=[3])
    assert single["stdev"] is None and single["variance"] is None and single["pstdev"] == 0


def test_statistics_on_many_values_matches_floats() -> None:
    values = [float(i % 97) + 0.25 for i in range(20_000)]  # beyond the decimal-exact size: the float path
    summary = summarize(values, [50])
    assert summary.count == 20_000 and summary.sum == pytest.approx(math.fsum(values))
    assert summary.mean == pytest.approx(math.fsum(values) / 20_000)
    assert summary.stdev == pytest.approx(statistics.stdev(values))
    assert summary.percentiles["50"] == statistics.median(values)


def test_statistics_refuses_non_finite_values() -> None:
    with pytest.raises(ToolError, match="finite"):
        summarize([1.0, float("nan")], None)
    with pytest.raises(ToolError, match="finite"):
        percent_change(float("inf"), 1.0)


async def test_statistics_errors(server: MCPServer) -> None:
    assert "empty" in await call_error(server, "statistics", values=[])
    assert "between 0 and 100" in await call_error(server, "statistics", values=[1, 2], percentiles=[101])


async def test_percent_change(server: MCPServer) -> None:
    out = await call(server, "percent_change", old=0.1, new=0.3)
    assert out == {"old": 0.1, "new": 0.3, "change": 0.2, "percent_change": 200.0, "ratio": 3.0}
    negative_base = await call(server, "percent_change", old=-10, new=-5)
    assert negative_base["percent_change"] == 50.0
    assert "must not be 0" in await call_error(server, "percent_change", old=0, new=3)


async def test_growth_rate_changes_and_cagr(server: MCPServer) -> None:
    out = await call(server, "growth_rate", values=[100, 110, 121])
    assert out["periods"] == 2
    assert [c["percent_change"] for c in out["changes"]] == [10.0, 10.0]
    assert out["changes"][0] == {
        "period": 1,
        "from_value": 100,
        "to_value": 110,
        "change": 10,
        "percent_change": 10,
    }
    assert out["total_percent_change"] == 21.0
    assert out["rate_per_period_percent"] == pytest.approx(10.0)
    assert out["cagr_percent"] == pytest.approx(10.0)
    quarterly = await call(server, "growth_rate", values=[100, 110, 121], periods_per_year=4)
    assert quarterly["cagr_percent"] == pytest.approx((1.1**4 - 1) * 100)
    assert quarterly["years"] == 0.5
    through_zero = await call(server, "growth_rate", values=[100, 0, 50])
    assert through_zero["changes"][1]["percent_change"] is None


async def test_growth_rate_of_a_start_and_an_end_years_apart_is_annualized_over_those_years(
    server: MCPServer,
) -> None:
    out = await call(server, "growth_rate", values=[120, 200], years=3)
    assert out["cagr_percent"] == pytest.approx(((200 / 120) ** (1 / 3) - 1) * 100)
    assert out["years"] == 3
    assert out["periods_per_year"] == pytest.approx(1 / 3)
    assert out["total_percent_change"] == pytest.approx(200 / 120 * 100 - 100)


async def test_growth_rate_errors(server: MCPServer) -> None:
    assert "empty" in await call_error(server, "growth_rate", values=[])
    assert "at least two values" in await call_error(server, "growth_rate", values=[5])
    assert "positive first value" in await call_error(server, "growth_rate", values=[0, 10])
    assert "positive first value" in await call_error(server, "growth_rate", values=[-5, 10])
    assert "not both" in await call_error(server, "growth_rate", values=[1, 2], years=3, periods_per_year=4)
