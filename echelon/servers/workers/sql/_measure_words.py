"""The measures a text's words name: "how many orders" -> ``count(orders)``, "average order value" -> the business
measure of that name. A small model choosing among dozens of measure names took the total of units for "how many
orders" and the value per order for "what each customer spent"; the words of the request already say which.

Each measure is described by its words: its name (a business measure's words, or the column or counted thing of a
derived one), a few words for what its function computes (sum: total; avg: average; count: number, how many) and
its description. A text's words are weighed by how few measures have them (a word every measure has tells none
apart), and the measures with the best score, matched by two words at least, are reported when there are few of
them: a text whose words fit many measures equally ("revenue" fits its total, average, minimum and maximum) names
none of them, and nothing is said.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from pydantic import BaseModel, Field

from echelon.servers.core.tooling import ArgumentHint
from echelon.servers.workers.sql._catalog import Catalog, Measure

MAX_NAMED = 3
"""More measures than this fitting a text equally well means its words do not say which one it is."""
MIN_WORDS = 2
"""A measure fits a text only with this many of its words: one alone is most often the thing a question ranks or
filters ("which product ..." is not about counting products)."""

_DERIVED = re.compile(r"^(count|count_distinct|sum|avg|min|max)\((\w+)(?:\.(\w+))?\)$")
# What each function computes, in the words a question uses for it. Words of ranking ("most", "highest") are
# left out: with the thing a question ranks ("which product ... the most") they would name a count of it.
_FUNCTION_WORDS = {
    "count": ("count", "number", "many"),
    "count_distinct": ("count", "number", "many", "different"),
    "sum": ("sum", "total"),
    "avg": ("average", "mean"),
    "min": ("minimum", "smallest"),
    "max": ("maximum", "largest"),
}
# Words that carry no meaning of their own in a question or a measure's description.
_STOP = frozenset(  # a literal list of 50 words would take 50 lines
    "a an and are as at be by did do does each for from get got had has have how i in is it its much of on once "  # noqa: SIM905
    "or our per s the their them there this to us was we were what when which who why will with you your".split()
)


class NamedMeasure(BaseModel):
    measure: str = Field(description="The aggregate measure name")
    words: list[str] = Field(description="The text's words it matched")
    description: str = Field(default="", description="What the measure means, when the schema or file says")


class NamedMeasures(BaseModel):
    measures: list[NamedMeasure] = Field(description="The measures the text's words name, best first")
    hints: list[ArgumentHint] = Field(
        default_factory=list[ArgumentHint],
        description="The same as a hint for aggregate's measure argument (for keeps_named_arguments)",
    )


def words(text: str) -> list[str]:
    """``text``'s meaningful words, lower case and singular (orders -> order, categories -> category)."""
    found: list[str] = []
    for word in re.split(r"[^a-z0-9]+", text.lower()):
        if len(word) < 2 or word in _STOP or word.isdigit():
            continue
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
            word = word[:-1]
        found.append(word)
    return found


def measure_words(measure: Measure) -> set[str]:
    """What ``measure`` is called and computes, as words (``words``)."""
    derived = _DERIVED.match(measure.name)
    if derived is None:  # a business measure: its own name says what it is
        said = words(measure.name.replace("_", " "))
    else:
        function, table, column = derived.groups()
        said = list(_FUNCTION_WORDS[function])
        named = column.removesuffix("_id") if column else table
        said += words(named.replace("_", " "))
    return set(said) | set(words(measure.description or ""))


def named_measures(catalog: Catalog, text: str) -> NamedMeasures:
    """The measures of ``catalog`` that ``text``'s words fit best, when few fit as well (the module's rule)."""
    described = {name: measure_words(m) for name, m in catalog.measures.items()}
    asked = set(words(text))
    if not described or not asked:
        return NamedMeasures(measures=[])
    weight = _weights(described.values(), asked)
    scores = {
        name: sum(weight[w] for w in asked & said) if len(asked & said) >= MIN_WORDS else 0.0
        for name, said in described.items()
    }
    best = max(scores.values())
    top = [name for name, score in scores.items() if best > 0 and score >= best - 1e-9]
    if not top or len(top) > MAX_NAMED:
        return NamedMeasures(measures=[])
    named = [
        NamedMeasure(
            measure=name,
            words=sorted(asked & described[name]),
            description=catalog.measures[name].description or "",
        )
        for name in top
    ]
    said = sorted({w for m in named for w in m.words})
    hint = ArgumentHint(
        tool="aggregate",
        argument="measure",
        values=top,
        reason=f"the words {', '.join(said)} name {' or '.join(top)}",
    )
    return NamedMeasures(measures=named, hints=[hint])


def _weights(described: Iterable[set[str]], asked: set[str]) -> dict[str, float]:
    """How much each asked word tells measures apart: ln(measures / measures having it); 0 for one all have."""
    sets = list(described)
    return {w: math.log(len(sets) / max(1, sum(1 for s in sets if w in s))) for w in asked}


def named_text(found: NamedMeasures) -> str:
    """The measures for a model: each name, the words that fit it and what it means."""
    if not found.measures:
        return "The text's words fit no one measure better than the others."
    lines = ["The text's words fit these aggregate measures best:"]
    for m in found.measures:
        means = f": {m.description}" if m.description else ""
        lines.append(f"- {m.measure} (the words {', '.join(m.words)}){means}")
    return "\n".join(lines)
