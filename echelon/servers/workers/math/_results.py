"""What the sympy-backed tools return, and how they refuse: plain models and an exception, apart from the
computations so that the worker's own process declares its tools without importing sympy, and the forkserver that
runs them loads sympy without the MCP SDK."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MathError(Exception):
    """A computation refused or failed, with a message for the caller; the worker answers it as a ToolError."""


class Evaluation(BaseModel):
    expression: str = Field(description="The expression as given")
    result: str = Field(description="The exact result, or the numeric one when numeric=true")
    exact: str
    numeric: str | None = Field(description="Decimal value at the requested precision, when it is a number")
    value: float | None = Field(description="The value as a float, when it is a finite real number")
    latex: str
    free_symbols: list[str]


class Solution(BaseModel):
    values: dict[str, str] = Field(description="variable -> exact value")
    numeric: dict[str, float] = Field(description="variable -> float, for the real values")


class Solutions(BaseModel):
    equations: list[str] = Field(description="Each equation as 'expression = 0'")
    variables: list[str]
    solutions: list[Solution]
    count: int


class Transformed(BaseModel):
    input: str
    result: str
    latex: str


class IntegralResult(BaseModel):
    input: str
    definite: bool
    result: str = Field(description="Antiderivative (no + C) or the definite value")
    latex: str
    evaluated: bool = Field(description="False when sympy found no closed form (result is an Integral)")
    numeric: str | None = Field(description="Numeric value of a definite integral")
    value: float | None
