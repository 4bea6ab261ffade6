"""Figures a model writes (into a planned tool call, or into a synthesized answer) must come from what it was given.

The router may plan the exact call for a step (a deck's bullets, say). A small model fills such text with
plausible figures ("2024 revenue: $80M") when the context has none, or labels a real figure with the wrong unit
(a difference written as a percent); this check finds such numbers in the call's text, so the plan goes back to
the model with them named, or (for list items) leaves them out.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# A number not glued to a word (so "Q3" and "H2O" are not numbers), with optional thousands separators.
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?")


# A percent in the source: written with "%", or the value of a field named like one ("percent_change": 32.84).
# The key must end with the word: "growth_value" holds an amount, "growth_rate" a percent.
_PERCENT_KEY = re.compile(r"(?:percent|pct|rate|growth|change|share)[\"']?\s*[:=]\s*$", re.IGNORECASE)


# In a source, any run of digits is a number it holds, also one glued to a letter ("2026-12-01T21:00" holds 21).
_SOURCE_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def _figures(text: str, pattern: re.Pattern[str] = _NUMBER) -> list[tuple[Decimal, bool]]:
    """Each number in ``text`` with whether it is a percent there."""
    found: list[tuple[Decimal, bool]] = []
    for match in pattern.finditer(text):
        try:
            number = Decimal(match.group(0).replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern only matches valid numbers
            continue
        after = text[match.end() : match.end() + 2].lstrip()
        before = text[max(0, match.start() - 40) : match.start()]
        if before.endswith("-") or before.endswith("+"):
            before = before[:-1]
        found.append((number, after.startswith("%") or bool(_PERCENT_KEY.search(before))))
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]  # pyright: ignore[reportUnknownVariableType]
    return []


def _given(number: Decimal, sources: list[Decimal]) -> bool:
    """True when ``number`` is a source number, possibly rounded to the decimals it is written with."""
    places = Decimal(1).scaleb(number.as_tuple().exponent)  # type: ignore[arg-type]
    return any(
        number in (source, source.quantize(places, ROUND_HALF_UP), source.quantize(places, ROUND_DOWN))
        for source in sources
    )


def _as_digits(source: str) -> str:
    """``source`` with numbers written in English words as digits ("a ten-year warranty" -> "a 10 year
    warranty", "fifteen percent" -> "15%"): a document states figures that way, and an answer citing them in digits
    cites the document. text2num reads the words; a percent written as a word becomes a sign."""
    from text_to_num import alpha2digit  # pyright: ignore[reportMissingTypeStubs]  # 11 ms: on first use

    words = _WORD_HYPHEN.sub(" ", source)
    return _PERCENT_WORD.sub(r"\1%", str(alpha2digit(words, "en", threshold=0)))  # pyright: ignore[reportUnknownArgumentType]


_WORD_HYPHEN = re.compile(r"(?<=[A-Za-z])-(?=[A-Za-z])")
_PERCENT_WORD = re.compile(r"(\d)\s?(?:percent|per cent)\b", re.IGNORECASE)


class Grounding:
    """The figures of one source text, read once, against which any number of answers or calls are checked."""

    def __init__(self, source: str) -> None:
        source = f"{source}\n{_as_digits(source)}"  # under a millisecond for 15,000 characters
        figures = _figures(source, _SOURCE_NUMBER)
        self.numbers = [number for number, _percent in figures]
        self.percents = [number for number, percent in figures if percent]

    def missing(self, arguments: Any) -> list[str]:
        """Numbers in the text values of ``arguments`` the source does not contain, and percents that are not a
        percent there (a difference of 29347.51 written as "29347.51%"). Single digits are allowed: they count
        slides and list items."""
        missing: list[str] = []
        for text in _strings(arguments):
            for number, percent in _figures(text):
                if not _states(number, percent):
                    continue
                shown = format(number, "f") + ("%" if percent else "")
                if not _given(number, self.percents if percent else self.numbers) and shown not in missing:
                    missing.append(shown)
        return missing

    def cited(self, text: str) -> bool:
        """Whether ``text`` states at least one number of the source (as written or rounded)."""
        return any(_given(number, self.numbers) for number, _percent in _figures(text))

    def drop_missing(self, arguments: Any) -> tuple[Any, list[str]]:
        """``arguments`` without the list items (bullets, rows of text) that hold figures the source lacks, and
        the items dropped. A small model asked to fix such an item tends to repeat it verbatim; leaving it out is
        what the fix would be. Figures outside list items stay, for ``missing`` to report."""
        dropped: list[str] = []

        def clean(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
            if isinstance(value, list):
                kept: list[Any] = []
                for item in value:  # pyright: ignore[reportUnknownVariableType]
                    if isinstance(item, str) and self.missing(item):
                        dropped.append(item)
                    else:
                        kept.append(clean(item))
                return kept
            return value

        return clean(arguments), dropped


def _states(number: Decimal, percent: bool) -> bool:
    """Whether a number is a figure a text states: a percent, a decimal or two digits or more (a single-digit
    integer counts slides and list items)."""
    return percent or number >= 10 or number != number.to_integral_value()


def stated_figures(text: str) -> list[Decimal]:
    """The figures ``text`` states, in order: numbers not glued to a word, leaving out single-digit integers (they
    count slides and list items)."""
    return [number for number, percent in _figures(text) if _states(number, percent)]


def is_figure(number: Decimal, sources: list[str]) -> bool:
    """Whether ``number`` is one of ``sources`` (numbers as text), possibly rounded to the decimals it has."""
    return _given(number, [Decimal(s) for s in sources])


def source_figures(text: str) -> list[str]:
    """Every number ``text`` holds, as text (also one glued to a letter)."""
    return [format(number, "f") for number, _percent in _figures(text, _SOURCE_NUMBER)]


def ungrounded_figures(arguments: Any, source: str) -> list[str]:
    """``Grounding(source).missing(arguments)``, for a single check."""
    return Grounding(source).missing(arguments)


def states_a_figure(text: str) -> bool:
    """Whether ``text`` states a figure: a percent, a decimal or a number of two digits or more."""
    return bool(stated_figures(text))
