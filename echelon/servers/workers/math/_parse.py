"""A safe math-expression parser: Python's ``ast`` walked with an allow-list, sympy objects built directly.

User text never reaches ``eval`` (``sympy.sympify``/``parse_expr``/``S("...")`` all call it). Only numbers, names,
``+ - * / ** % ^`` (``^`` means power), unary ``+``/``-`` and calls to allow-listed functions are accepted; every
other construct is refused with the column where it starts. Size limits keep a short text from becoming a CPU
or memory bomb (``10**10**10``, ``factorial(10**6)``).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import sympy

from echelon.servers.workers.math._results import MathError

MAX_LENGTH = 2000
MAX_DIGITS = 4000  # exact numbers beyond this many digits are refused (Python prints at most 4300)
MAX_SYMBOLIC_EXPONENT = 1000  # integer powers of non-numeric bases (solving x**10000 would take ages)
MAX_COMBINATORIAL = 1000  # largest integer argument of factorial/gamma/binomial
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}\Z")
_CARET = re.compile(r"\^")
_LONE_EQUALS = re.compile(r"\^|(?<![=<>!])=(?!=)")
_FLOAT = re.compile(r"[\d_]*\.?[\d_]*(?:[eE]([+-]?[\d_]+))?\Z")

CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E, "I": sympy.I, "oo": sympy.oo}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    **{
        name: getattr(sympy, name)
        for name in ("sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan")
    },
    **{name: getattr(sympy, name) for name in ("sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "atan2")},
    **{name: getattr(sympy, name) for name in ("exp", "log", "sqrt", "cbrt", "root", "factorial", "gamma")},
    **{
        name: getattr(sympy, name)
        for name in ("floor", "ceiling", "sign", "binomial", "re", "im", "Min", "Max")
    },
    "ln": sympy.log,
    "abs": sympy.Abs,
    "Abs": sympy.Abs,
}
_COMBINATORIAL = frozenset({"factorial", "gamma", "binomial"})

_DESCRIPTIONS: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Dict: "dict",
    ast.Set: "set",
    ast.Subscript: "subscript",
    ast.IfExp: "conditional expression",
    ast.BoolOp: "boolean operator",
    ast.Compare: "comparison",
    ast.NamedExpr: "assignment expression",
    ast.Starred: "starred argument",
    ast.JoinedStr: "f-string",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slice",
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Mod: lambda a, b: sympy.Mod(a, b),
}
_OPERATOR_TEXT: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.Not: "not",
}


class _Source:
    """The text handed to ``ast.parse`` (``^`` rewritten as ``**``) and a map back to the user's columns."""

    def __init__(self, text: str, *, equation: bool = False) -> None:
        if len(text) > MAX_LENGTH:
            raise MathError(f"expression too long: {len(text)} characters (the limit is {MAX_LENGTH})")
        if not text.strip():
            raise MathError("the expression is empty")
        flat = text.replace("\r", " ").replace("\n", " ")
        lead = len(flat) - len(flat.lstrip())
        self.original = flat
        # A lone '=' (equations) becomes '=='; both rewrites widen one character to two.
        widen = _LONE_EQUALS if equation else _CARET
        pieces: list[str] = []
        self._columns: list[int] = []
        for index in range(lead, len(flat)):
            char = flat[index]
            piece = ("**" if char == "^" else "==") if widen.match(flat, index) else char
            pieces.append(piece)
            self._columns.extend([index] * len(piece))
        self._columns.append(len(flat))
        self.text = "".join(pieces)

    def chars(self, byte_offset: int) -> int:
        """ast offsets count UTF-8 bytes; this is the character index in ``self.text``."""
        return len(self.text.encode()[:byte_offset].decode(errors="ignore"))

    def column(self, node: ast.AST | None = None, offset: int | None = None) -> int:
        """1-based column in the user's text of a node, or of a character index in ``self.text``."""
        if node is not None:
            offset = self.chars(getattr(node, "col_offset", 0))
        index = min(max(offset or 0, 0), len(self._columns) - 1)
        return self._columns[index] + 1

    def refuse(self, what: str, node: ast.AST | None = None, offset: int | None = None) -> MathError:
        return MathError(f"not allowed: {what} at column {self.column(node, offset)}")

    def tree(self) -> ast.expr:
        try:
            return ast.parse(self.text, mode="eval").body
        except SyntaxError as exc:
            col = self.column(offset=(exc.offset or 1) - 1)
            hint = (
                " (write multiplication explicitly, e.g. 2*x)"
                if re.search(r"\d[A-Za-z(]", self.original)
                else ""
            )
            raise MathError(f"could not parse the expression: {exc.msg} at column {col}{hint}") from None
        except (ValueError, RecursionError, MemoryError) as exc:
            raise MathError(f"could not parse the expression: {exc}") from None


def _digits(number: sympy.Rational) -> int:
    p, q = int(number.p), int(number.q)  # pyright: ignore[reportAttributeAccessIssue]
    return int(max(abs(p), q).bit_length() * 0.30103) + 1


def _check_size(value: Any, src: _Source, node: ast.AST) -> Any:
    if isinstance(value, sympy.Basic):
        for number in value.atoms(sympy.Rational):
            if _digits(number) > MAX_DIGITS:
                raise MathError(
                    f"number too large at column {src.column(node)}: more than {MAX_DIGITS} digits"
                )
    return value


class _Builder:
    def __init__(self, src: _Source) -> None:
        self.src = src

    def build(self, node: ast.AST) -> Any:
        src = self.src
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
            raise src.refuse(f"operator '{_OPERATOR_TEXT.get(type(node.op), '?')}'", node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            at = node.value.end_col_offset if node.value.end_col_offset is not None else node.col_offset
            raise src.refuse(f"attribute access '.{node.attr}'", offset=src.chars(at))
        raise src.refuse(_DESCRIPTIONS.get(type(node), type(node).__name__), node)

    def constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.src.refuse(f"constant {value!r}", node)
        if isinstance(value, str | bytes):
            raise self.src.refuse("string literal", node)
        if isinstance(value, complex):
            raise self.src.refuse("complex literal (write 2*I for an imaginary number)", node)
        if isinstance(value, int):
            return _check_size(sympy.Integer(value), self.src, node)
        literal = (ast.get_source_segment(self.src.text, node) or repr(value)).replace("_", "")
        match = _FLOAT.match(literal)
        if match is None or (match.group(1) is not None and abs(int(match.group(1))) > MAX_DIGITS):
            raise MathError(f"number too large at column {self.src.column(node)}: {literal[:40]}")
        fraction = Fraction(literal)  # exact decimal: 0.1 is 1/10, not the nearest binary float
        return _check_size(sympy.Rational(fraction.numerator, fraction.denominator), self.src, node)

    def name(self, node: ast.Name) -> Any:
        ident = node.id
        if ident in CONSTANTS:
            return CONSTANTS[ident]
        if ident in FUNCTIONS:
            raise MathError(
                f"function '{ident}' needs arguments, e.g. {ident}(x), at column {self.src.column(node)}"
            )
        if not _NAME.match(ident):
            raise self.src.refuse(f"name '{ident}'", node)
        return sympy.Symbol(ident)

    def binary(self, node: ast.BinOp) -> Any:
        left, right = self.build(node.left), self.build(node.right)
        if isinstance(node.op, ast.Pow | ast.BitXor):
            return _check_size(self.power(left, right, node), self.src, node)
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise self.src.refuse(f"operator '{_OPERATOR_TEXT.get(type(node.op), '?')}'", node)
        return _check_size(operation(left, right), self.src, node)

    def power(self, base: Any, exponent: Any, node: ast.BinOp) -> Any:
        if isinstance(exponent, sympy.Rational):
            size = abs(exponent)
            if isinstance(base, sympy.Rational) and base not in (0, 1, -1):
                if float(size) * math.log10(max(abs(int(base.p)), int(base.q))) > MAX_DIGITS:
                    raise MathError(
                        f"power too large at column {self.src.column(node)}: over {MAX_DIGITS} digits"
                    )
            elif not isinstance(base, sympy.Number) and size > MAX_SYMBOLIC_EXPONENT:
                raise MathError(
                    f"exponent too large at column {self.src.column(node)}: {exponent} "
                    f"(the limit for symbolic bases is {MAX_SYMBOLIC_EXPONENT})"
                )
        return base**exponent

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if not isinstance(func, ast.Name):
            self.build(func)  # refuses attribute access, lambdas, subscripts, ... with their column
            raise self.src.refuse("calling something that is not a function name", node)
        if func.id not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise self.src.refuse(f"call to '{func.id}' (allowed functions: {allowed})", node)
        if node.keywords:
            raise self.src.refuse(f"keyword argument in call to '{func.id}'", node.keywords[0].value)
        args = [self.build(arg) for arg in node.args]
        if func.id in _COMBINATORIAL:
            for arg in args:
                if isinstance(arg, sympy.Number) and abs(arg) > MAX_COMBINATORIAL:
                    raise MathError(
                        f"argument too large for {func.id} at column {self.src.column(node)}: "
                        f"the limit is {MAX_COMBINATORIAL}"
                    )
        try:
            result = FUNCTIONS[func.id](*args)
        except (TypeError, ValueError) as exc:
            raise MathError(f"bad call to {func.id} at column {self.src.column(node)}: {exc}") from None
        return _check_size(result, self.src, node)


def _to_expr(value: Any, text: str) -> sympy.Expr:
    if not isinstance(value, sympy.Expr):
        raise MathError(f"{text!r} is not a mathematical expression")
    return value


def _build(src: _Source, node: ast.AST) -> Any:
    try:
        return _Builder(src).build(node)
    except RecursionError:
        raise MathError("expression nested too deeply") from None


def parse_expression(text: str) -> sympy.Expr:
    """A sympy expression from user text, e.g. ``"2*sin(x)^2 + 0.5"``."""
    src = _Source(text)
    return _to_expr(_build(src, src.tree()), text)


def parse_equation(text: str) -> sympy.Expr:
    """``lhs = rhs`` (or ``lhs == rhs``, or an expression meaning ``= 0``) as the expression ``lhs - rhs``."""
    src = _Source(text, equation=True)
    tree = src.tree()
    if isinstance(tree, ast.Compare):
        if len(tree.ops) != 1 or not isinstance(tree.ops[0], ast.Eq):
            raise src.refuse("comparison other than a single '=' (inequalities are not supported)", tree)
        return _to_expr(_build(src, tree.left), text) - _to_expr(_build(src, tree.comparators[0]), text)
    return _to_expr(_build(src, tree), text)


def parse_symbol(name: str) -> sympy.Symbol:
    """A variable name such as ``x`` or ``rate_2``."""
    value = parse_expression(name)
    if not isinstance(value, sympy.Symbol):
        raise MathError(f"{name!r} is not a variable name; use a plain name such as x")
    return value
