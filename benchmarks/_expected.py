"""What a right answer states, as the oracles compute it: names, figures with their tolerance, clock times, a
verdict, key concepts, or that the data does not know. The checkers (``_checks``) judge answers against these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Sign = Literal["magnitude", "direction", "exact"]
Unit = Literal["number", "percent", "money"]


class ExpectedFigure(BaseModel):
    """A figure the answer must state: any one of ``values`` (e.g. a change as a percent or as a difference).

    It matches a figure in the answer that is within ``max(abs_tol, rel_tol * |value|)``, or that equals the value
    rounded to the digits the answer shows when it shows at least ``min_digits`` significant digits ("2.56
    million", "+29.7%", "$506"). ``sign``: ``magnitude`` ignores the sign; ``direction`` reads it from a written
    sign or from the words around the figure ("fell 11.1%"); ``exact`` needs the sign as written ("x = -2")."""

    model_config = ConfigDict(extra="forbid")

    label: str
    values: list[float] = Field(min_length=1)
    unit: Unit = "number"
    rel_tol: float = 0.001
    abs_tol: float = 0.0
    min_digits: int = 2
    sign: Sign = "magnitude"


class Spec(BaseModel):
    """What one text (the answer, or a deck's text) must state. Every part given must hold."""

    model_config = ConfigDict(extra="forbid")

    names: list[list[str]] = Field(
        default_factory=list,
        description="Each required name as its accepted spellings; a spelling starting with '=' is case-sensitive",
    )
    ranked: list[list[str]] | None = Field(
        default=None,
        description="The candidates the names were picked from: the answer must pick the name, not just list it",
    )
    figures: list[ExpectedFigure] = Field(default_factory=list)
    times: list[str] = Field(default_factory=list, description="Clock times HH:MM")
    verdict: Literal["match", "mismatch"] | None = None
    concepts: list[list[str]] = Field(
        default_factory=list, description="Each key concept as its accepted words; each must be mentioned"
    )
    unknown: bool = Field(default=False, description="The right answer says the data does not know")
    known_figures: list[float] = Field(
        default_factory=list, description="Figures of the data an 'unknown' answer may quote as context"
    )
    min_figure: float = Field(
        default=100, description="In an 'unknown' answer, plain numbers below this are not taken as claims"
    )


class Expected(BaseModel):
    """The expected answer of one question: ``shown`` in words for reports, and what the checkers test."""

    model_config = ConfigDict(extra="forbid")

    shown: str
    answer: Spec = Field(default_factory=Spec)
    deck: Spec | None = Field(
        default=None, description="A .pptx must have been made, and its text must hold this"
    )
