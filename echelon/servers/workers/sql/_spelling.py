"""The one value a column holds that a filter's text means, when it differs only in case, spacing or spelling.

A filter value no row holds (``'Ember Down Jackets'`` for ``'Ember Down Jacket'``, ``'mountain west'``) makes an
empty answer that a model reads as "no data". When exactly one held value is that close, the aggregate tool reads
the filter as that value and says so; anything less clear is left to the error that lists the values there are.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

CLOSE = 0.85  # difflib ratio: a letter or two apart in a name of ten or more
MARGIN = 0.05  # how much closer the best value must be than the next
MIN_FUZZY_LENGTH = 5  # shorter texts ('East', 'West', '2024') must match but for case and spacing


def _plain(text: str) -> str:
    return re.sub(r"[\s\W_]+", " ", text.casefold()).strip()


def nearest_value(given: str, held: Sequence[str]) -> str | None:
    """The one value of ``held`` that ``given`` means, or None when none or several are as close."""
    plain = _plain(given)
    same = [value for value in held if _plain(value) == plain]
    if same:
        return same[0] if len(same) == 1 else None
    if len(plain) < MIN_FUZZY_LENGTH:
        return None
    scored = sorted(
        ((difflib.SequenceMatcher(None, plain, _plain(v)).ratio(), v) for v in held), reverse=True
    )
    if not scored or scored[0][0] < CLOSE:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < MARGIN:
        return None
    return scored[0][1]
