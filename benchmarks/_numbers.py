"""Figures and clock times as a reader finds them in an answer: ``$2.56 million``, ``-11.1%``, ``5,062``, ``ten``,
``11:30 PM``, ``20:15``.

Each figure keeps what was shown (how many digits, the scale word, a sign written before it, a percent or currency
sign) so a checker can allow the rounding the answer shows, and no more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SCALES = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
}
_NUMBER = re.compile(
    r"""
    (?<![\w.,])
    (?P<sign>[-+])?
    (?P<cur>[$€£])?\s?
    (?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?
    (?:\s?(?P<pct>%|percent\b|per\s?cent\b))?
    (?:\s?(?P<scale>thousand\b|million\b|mn\b|billion\b|bn\b|[kK]\b|M\b|B\b))?
    """,
    re.VERBOSE,
)
_MINUS_WORD = re.compile(r"\b(?:minus|negative)\s*$", re.IGNORECASE)
_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
    "hundred": 100,
}
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)


@dataclass(frozen=True)
class Figure:
    """One figure found in a text."""

    value: float
    half_unit: float  # half of the unit of the last digit shown: the rounding the figure allows
    digits: int  # significant digits shown
    percent: bool
    money: bool
    signed: bool  # a sign (or "minus") was written before it
    start: int
    end: int


def normalise(text: str) -> str:
    """The text with typographic minus signs, dashes before digits and non-breaking spaces made plain."""
    text = text.replace("\u2212", "-").replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"[\u2013\u2014](?=\s?[$€£]?\d)", "-", text)


def figures(text: str) -> list[Figure]:
    """Every figure in ``text``, in order (number words such as "ten" included)."""
    text = normalise(text)
    found: list[Figure] = []
    for m in _NUMBER.finditer(text):
        whole, frac = m.group("int").replace(",", ""), (m.group("frac") or "")[1:]
        scale_word = m.group("scale") or ""
        scale = _SCALES[scale_word.lower()] if scale_word else 1.0
        if (
            scale_word == "m" or scale_word == "b"
        ):  # lowercase single letters are units ("60m rope"), not scales
            scale = 1.0
        sign = m.group("sign")
        minus = sign == "-" or bool(_MINUS_WORD.search(text[: m.start()]))
        value = float(f"{whole}.{frac or '0'}") * scale
        shown = (whole + frac).lstrip("0")
        found.append(
            Figure(
                value=-value if minus else value,
                half_unit=0.5 * 10.0 ** (-len(frac)) * scale,
                digits=max(len(shown), 1),
                percent=bool(m.group("pct")),
                money=bool(m.group("cur")),
                signed=sign is not None or minus,
                start=m.start(),
                end=m.end(),
            )
        )
    for m in _WORD.finditer(text):
        value = float(_WORDS[m.group(1).lower()])
        found.append(Figure(value, 0.5, 2, False, False, False, m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


_CLOCK = re.compile(
    r"(?<![\d:.,$])(?P<h>\d{1,2})(?:(?P<sep>[:.h])(?P<m>[0-5]\d))?\s?(?P<ampm>[ap])?(?(ampm)\.?\s?m\b\.?)",
    re.IGNORECASE,
)


def clock_times(text: str) -> list[int]:
    """Clock times in ``text`` as minutes after midnight: ``20:15``, ``8:15 pm``, ``8 PM``, ``noon``, ``midnight``.
    A bare hour needs am/pm; ``8.15`` counts only with am/pm (otherwise it is a decimal)."""
    found: list[int] = []
    for m in _CLOCK.finditer(normalise(text)):
        hour, minute, ampm = int(m.group("h")), int(m.group("m") or 0), (m.group("ampm") or "").lower()
        if ampm:
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if ampm == "p" else 0)
        elif m.group("m") is None or m.group("sep") == "." or hour > 23:
            continue
        found.append(hour * 60 + minute)
    lowered = text.lower()
    found += [12 * 60] * len(re.findall(r"\bnoon\b", lowered))
    found += [0] * len(re.findall(r"\bmidnight\b", lowered))
    return found
