"""``row_figures``: a figure written beside one row's name is that row's figure, not another row's."""

from __future__ import annotations

import re
from typing import ClassVar

from ..evidence import Row, result_rows
from ..grounding import is_figure, source_figures, stated_figures
from ._base import Policy, RunState, SendBack

# Where one claim ends: a sentence's end, a line, a semicolon. A decimal point is followed by a digit, not a space.
_CLAIM_END = re.compile(r"(?<=[.!?])\s+|\n+|;\s*")
MAX_SHOWN = 6


def identifying_names(rows: list[Row]) -> set[str]:
    """The names (lower case) that tell rows apart: held by some rows, not by all."""
    held = [{n.lower() for n in row.names} for row in rows]
    every = set.intersection(*held) if held else set()
    return {name for names in held for name in names if name not in every and any(c.isalpha() for c in name)}


def named_in(claim: str, names: set[str]) -> set[str]:
    """The ``names`` ``claim`` mentions as whole words; a mention inside a longer one is the longer name's ("West"
    in "Mountain West")."""
    taken: list[tuple[int, int]] = []
    found: set[str] = set()
    for name in sorted(names, key=len, reverse=True):
        for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", claim, re.IGNORECASE):
            if not any(start < match.end() and match.start() < end for start, end in taken):
                taken.append(match.span())
                found.add(name)
    return found


def _label(row: Row) -> str:
    return " / ".join(row.names)


def _shown(row: Row) -> str:
    return ", ".join(f"{field} {value}" for field, value in row.figures[:MAX_SHOWN])


class RowFigures(Policy):
    """When the results hold rows (a ranking's groups, a listing), a claim of the answer that names one row and
    states a figure of another row, and none of its own, mixes two rows up: "Southwest, up 29.73%" where 29.73 is
    another region's change. The answer goes back, saying whose figure it is and what the named row's figures are.
    Only claims (sentences, lines) naming a single row are judged, and a figure the request or a total also holds
    is left alone: a list comparing rows in one sentence is not a mix-up."""

    name: ClassVar[str] = "row_figures"
    description: ClassVar[str] = "a figure written beside a row's name must be that row's, not another row's"

    def check_answer(self, answer: str, state: RunState) -> None:
        rows, loose = result_rows(state.records)
        names = identifying_names(rows)
        if not names:
            return
        # Figures a text holds (the request, a document passage that is a row's name) are no row's own.
        said = "\n".join([state.given, state.asked, *(n for row in rows for n in row.names)])
        free = [*loose, *source_figures(said)]
        mixed: list[str] = []
        for claim in _CLAIM_END.split(answer):
            named = named_in(claim, names)
            if len(named) != 1:
                continue
            mixed += _mixed_up(claim, named.pop(), rows, free)
        if mixed:
            raise SendBack(
                f"{'; '.join(dict.fromkeys(mixed))}. Write each figure beside the row it belongs to, and name the "
                "row whose figure answers the request"
            )


def _mixed_up(claim: str, name: str, rows: list[Row], free: list[str]) -> list[str]:
    """What ``claim`` states beside ``name`` that belongs to another row, said for the model."""
    own = [row for row in rows if name in {n.lower() for n in row.names}]
    written = next((n for row in own for n in row.names if n.lower() == name), name)
    said: list[str] = []
    for number in stated_figures(claim):
        if any(is_figure(number, [v for _f, v in row.figures]) for row in own) or is_figure(number, free):
            continue
        theirs = [
            (row, f) for row in rows if row not in own for f, v in row.figures if is_figure(number, [v])
        ]
        if not theirs:
            continue
        row, field = theirs[0]
        mine = f"; {written}'s are {_shown(own[0])}" if own else ""
        said.append(
            f"the answer gives {format(number, 'f')} beside {written}, but in the results {format(number, 'f')} is "
            f"the {field} of {_label(row)}{mine}"
        )
    return said
