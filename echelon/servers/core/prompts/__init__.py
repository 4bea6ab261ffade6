"""System prompts and few-shot examples, kept as files so they can be read and tuned without touching code.

``<name>.md`` is a system prompt with ``{placeholders}``; ``<name>.examples.json`` is a list of
``{"user": ..., "assistant": ...}`` pairs sent as prior turns (few-shot examples make small local models plan well).
Both may use the date placeholders ``{today}``, ``{this_year}``, ``{last_year}`` and ``{year_before_last}``, so an
example can show how "last year" turns into real years without going stale.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib import resources

from ..llm.base import Message


@cache
def _read(filename: str) -> str:
    return resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")


def date_values(today: date | None = None) -> dict[str, str]:
    """The date placeholders: a model cannot otherwise resolve "last year" or "this quarter"."""
    today = today or date.today()
    return {
        "today": today.isoformat(),
        "this_year": str(today.year),
        "last_year": str(today.year - 1),
        "year_before_last": str(today.year - 2),
    }


def load_prompt(name: str, **values: object) -> str:
    """The system prompt ``name`` with its placeholders filled (the date placeholders are always available)."""
    return _read(f"{name}.md").format(**{**date_values(), **values}).strip()


def few_shot(name: str, today: date | None = None) -> list[Message]:
    """The few-shot example turns for ``name`` (empty if it has none), with the date placeholders filled."""
    try:
        text = _read(f"{name}.examples.json")
    except FileNotFoundError:
        return []
    # Plain replacement, not str.format: the JSON is full of braces.
    for key, value in date_values(today).items():
        text = text.replace("{" + key + "}", value)
    messages: list[Message] = []
    for pair in json.loads(text):
        answer = pair["assistant"]
        messages.append(Message(role="user", content=pair["user"]))
        messages.append(
            Message(role="assistant", content=answer if isinstance(answer, str) else json.dumps(answer))
        )
    return messages
