"""Checkers: is an answer right, by what its expected answer says it must state?

Fair to good answers in other wordings (rounded figures, "$2.56 million", "fell 11.1%", "11:30 PM", names in any
case), strict on what makes an answer wrong (another pick, a figure off by more than its rounding, an invented
figure where the data knows none). Pure functions; ``tests/benchmarks`` tests them on written answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ._expected import Expected, ExpectedFigure, Spec
from ._numbers import Figure, clock_times, figures, normalise


@dataclass
class Verdict:
    right: bool
    reasons: list[str] = field(default_factory=list)


def check(expected: Expected, answer: str, *, question: str = "", decks: list[str] | None = None) -> Verdict:
    """Judge ``answer`` (and the texts of the decks the run made) against ``expected``."""
    reasons = [f"answer: {r}" for r in check_spec(expected.answer, answer, question=question)]
    if expected.deck is not None:
        if not decks:
            reasons.append("deck: no .pptx was made")
        else:
            per_deck = [check_spec(expected.deck, text, question=question) for text in decks]
            if all(per_deck):
                reasons += [f"deck: {r}" for r in per_deck[-1]]
    return Verdict(right=not reasons, reasons=reasons)


def check_spec(spec: Spec, text: str, *, question: str = "") -> list[str]:
    """Why ``text`` falls short of ``spec`` (empty: it does not)."""
    reasons: list[str] = []
    for spellings in spec.names:
        if not mentions(text, spellings):
            reasons.append(f"does not name {spellings[0].lstrip('=')!r}")
        elif spec.ranked is not None and not picks(text, spellings, spec.ranked):
            reasons.append(f"names {spellings[0].lstrip('=')!r} but does not pick it over the others")
    found = figures(text)
    for figure in spec.figures:
        if not any(figure_matches(f, figure, text) for f in found):
            reasons.append(f"does not state {figure.label} ({_shown(figure)})")
    times = clock_times(text)
    for wanted in spec.times:
        hour, minute = (int(p) for p in wanted.split(":"))
        if hour * 60 + minute not in times:
            reasons.append(f"does not state the time {wanted}")
    if spec.verdict is not None and verdict_of(text, spec.verdict) != spec.verdict:
        reasons.append(
            f"does not say the document and the data {'agree' if spec.verdict == 'match' else 'differ'}"
        )
    for words in spec.concepts:
        if not any(_has_word(text, w) for w in words):
            reasons.append(f"does not mention {words[0]!r}")
    if spec.unknown:
        if not says_unknown(text):
            reasons.append("does not say the data does not have it")
        invented = invented_figures(text, spec, question)
        if invented:
            reasons.append(f"states figures the data does not have: {', '.join(invented)}")
    return reasons


def _shown(figure: ExpectedFigure) -> str:
    return " or ".join(f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}" for v in figure.values)


# -- names ----------------------------------------------------------------------------------------------------


def _fold(text: str, case: bool = False) -> str:
    text = normalise(text).replace("&", " and ")
    text = re.sub(r"[^0-9A-Za-z]+", " ", text)
    return f" {(text if case else text.lower()).strip()} "


def _positions(text: str, spellings: list[str]) -> list[int]:
    """Where any spelling occurs in ``text`` (folded), as whole words."""
    hits: list[int] = []
    for spelling in spellings:
        case = spelling.startswith("=")
        needle = _fold(spelling.lstrip("="), case)
        haystack = _fold(text, case)
        if needle.strip():
            hits += [m.start() for m in re.finditer(re.escape(needle), haystack)]
    return hits


def mentions(text: str, spellings: list[str]) -> bool:
    return bool(_positions(text, spellings))


_SUPERLATIVE = re.compile(
    r"\b(most|least|highest|lowest|largest|smallest|biggest|fewest|top|best|worst|fastest|slowest|greatest|"
    r"leading|strongest|weakest|peak|peaked|maximum|minimum|max|min|number one|no\. 1|busiest|quietest)\b",
    re.IGNORECASE,
)


def _first(text: str, candidates: list[list[str]]) -> int | None:
    """The index of the candidate ``text`` names first, or None."""
    best: tuple[int, int] | None = None
    for i, spellings in enumerate(candidates):
        hits = _positions(text, spellings)
        if hits and (best is None or min(hits) < best[0]):
            best = (min(hits), i)
    return best[1] if best else None


def picks(text: str, spellings: list[str], candidates: list[list[str]]) -> bool:
    """Whether ``text`` picks this name among ``candidates``: it names it before any other, or it is the first one
    named in the first sentence with a superlative ("... but Mountain West grew fastest")."""
    folded = {_fold(s.lstrip("=")) for s in spellings}
    pool = [c for c in candidates if not {_fold(s.lstrip("=")) for s in c} & folded] + [spellings]
    target = len(pool) - 1
    if _first(text, pool) == target:
        return True
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        if _SUPERLATIVE.search(sentence):
            chosen = _first(sentence, pool)
            if chosen is not None:
                return chosen == target
    return False


# -- figures --------------------------------------------------------------------------------------------------

_DOWN = r"declin\w*|decreas\w*|fell|fall\w*|drop\w*|down|lower|less|shr[aiu]nk\w*|lost|loss\w*|reduc\w*|contract\w*|negative|fewer|dipped|slipped|worse"
_UP = r"grew|grow\w*|increas\w*|rose|ris\w*|up|gain\w*|higher|more|jump\w*|climb\w*|improv\w*|expand\w*|positive|ahead|added"
_DIRECTION = re.compile(rf"\b(?:(?P<down>{_DOWN})|(?P<up>{_UP}))\b", re.IGNORECASE)


def _direction(text: str, figure: Figure) -> int:
    """-1 when the words nearest before the figure (else just after it) say it went down, else +1."""
    before = list(_DIRECTION.finditer(text[max(0, figure.start - 45) : figure.start]))
    if before:
        return -1 if before[-1].group("down") else 1
    after = _DIRECTION.search(text[figure.end : figure.end + 25])
    return -1 if after and after.group("down") else 1


def figure_matches(found: Figure, expected: ExpectedFigure, text: str) -> bool:
    """Whether ``found`` (a figure in ``text``) states ``expected``."""
    if (expected.unit == "percent" and found.money) or (expected.unit == "money" and found.percent):
        return False
    value = found.value
    if expected.sign == "direction" and not found.signed:
        value = abs(value) * _direction(normalise(text), found)
    for target in expected.values:
        got, want = (abs(value), abs(target)) if expected.sign == "magnitude" else (value, target)
        gap = abs(got - want)
        if gap <= max(expected.abs_tol, expected.rel_tol * abs(want)) + 1e-9:
            return True
        if found.digits >= expected.min_digits and gap <= found.half_unit * (1 + 1e-9):
            return True
    return False


# -- verdicts, concepts, unknowns ---------------------------------------------------------------------------

_AGREE_ANYWAY = re.compile(
    r"\bno (?:discrepanc\w*|difference|mismatch|inconsistenc\w*)|\bnot (?:inconsistent|different)\b", re.I
)
_DISAGREE = re.compile(
    r"\b(?:(?:does|do|did|is|are|was|were)(?:\s+not|n't)\s+(?:\w+\s+)?(?:match|agree|align|line up|consistent|correct|"
    r"accurate|right|the same|true|hold|supported|confirmed)|mismatch\w*|inconsisten\w*|disagree\w*|differ\w*|"
    r"discrepanc\w*|incorrect|inaccurate|wrong|contradict\w*|not (?:match|the case|true|correct|accurate|confirmed))\b",
    re.IGNORECASE,
)
_AGREE = re.compile(
    r"\b(?:match\w*|consistent|agree\w*|correct|accurate|confirm\w*|yes|same|checks out|lines up|in line|"
    r"align\w*|verified|true|right|holds)\b",
    re.IGNORECASE,
)
_LOOSE_NO = re.compile(
    r"^\W*no\b|\bnot\b|n't\b|\bbut\b|\brather than\b|\binstead\b|\bwhereas\b|\bhowever\b", re.I
)


def verdict_of(text: str, expected: str) -> str | None:
    """Whether ``text`` says the document and the data agree (``match``) or not (``mismatch``); None if neither.
    Judged strictly for the side that is not expected: an agreeing answer must not hedge with a disagreement, and
    a disagreeing one may say so in any words ("not July", "but the data shows June")."""
    plain = _AGREE_ANYWAY.sub(" consistent ", normalise(text).replace("\u2019", "'"))
    disagrees = bool(_DISAGREE.search(plain) or re.match(r"^\W*no\b", plain, re.I))
    if expected == "mismatch":
        if disagrees or (_LOOSE_NO.search(plain) and not re.match(r"^\W*yes\b", plain, re.I)):
            return "mismatch"
        return "match" if _AGREE.search(plain) else None
    if disagrees:
        return "mismatch"
    return "match" if _AGREE.search(plain) else None


def _has_word(text: str, word: str) -> bool:
    """Whether ``text`` uses ``word`` or a plain inflection of it ("months", "monthly", "categories", "summed")."""
    stem = re.escape(word[:-1]) + "(?:y|ies)" if word.endswith("y") else re.escape(word)
    return bool(re.search(rf"\b{stem}(?:s|es|ly|d|ed|ing)?\b", normalise(text), re.IGNORECASE))


_UNKNOWN = re.compile(
    r"\b(?:not (?:be )?(?:known|available|found|recorded|tracked|included|listed|present|stored|mentioned|"
    r"provided|contained|covered|specified|given|captured|possible)|unknown|unavailable|"
    r"no (?:\w+ ){0,3}(?:data|information|info|record|records|figure|figures|details|table|column|mention|"
    r"way|field|numbers|entries)|"
    r"(?:does not|doesn't|do not|don't|did not|didn't|cannot|can't|could not|couldn't|unable to|is not|isn't|are "
    r"not|aren't)\s+(?:\w+\s+)?(?:contain|include|have|hold|find|show|provide|answer|determine|track|record|know|"
    r"mention|say|cover|specify|list|store|exist|available|possible|capture)\w*|"
    r"only (?:covers|contains|has|includes|holds|goes back|starts)|outside (?:the|our) data)",
    re.IGNORECASE,
)


def says_unknown(text: str) -> bool:
    """Whether ``text`` says the answer is not known or not in the data."""
    return bool(_UNKNOWN.search(normalise(text).replace("\u2019", "'")))


def invented_figures(text: str, spec: Spec, question: str) -> list[str]:
    """Figures ``text`` states that are claims (money, percents, numbers from ``min_figure`` up) and that are not
    years, not in the question, and not one of the data's ``known_figures``."""
    asked = [f.value for f in figures(question)]
    invented: list[str] = []
    for found in figures(text):
        value = abs(found.value)
        year_like = found.half_unit == 0.5 and 1900 <= value <= 2100 and not (found.money or found.percent)
        claim = found.money or found.percent or value >= spec.min_figure
        if year_like or not claim:
            continue
        allowed = [*asked, *spec.known_figures]
        if any(abs(value - abs(a)) <= max(0.005 * abs(a), found.half_unit) for a in allowed):
            continue
        invented.append(text[found.start : found.end].strip())
    return invented
