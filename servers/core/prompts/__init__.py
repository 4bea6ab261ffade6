"""System prompts and few-shot examples, kept as files so they can be read and tuned without touching code.

``<name>.md`` is a system prompt with ``{placeholders}``; ``<name>.examples.json`` is a list of
``{"user": ..., "assistant": ...}`` pairs sent as prior turns (few-shot examples make small local models plan well).
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


def load_prompt(name: str, **values: object) -> str:
    """The system prompt ``name`` with its placeholders filled; ``{today}`` is always available, because a model
    cannot otherwise resolve "last year" or "this quarter"."""
    values.setdefault("today", date.today().isoformat())
    return _read(f"{name}.md").format(**values).strip()


def few_shot(name: str) -> list[Message]:
    """The few-shot example turns for ``name`` (empty if it has none)."""
    try:
        pairs = json.loads(_read(f"{name}.examples.json"))
    except FileNotFoundError:
        return []
    messages: list[Message] = []
    for pair in pairs:
        answer = pair["assistant"]
        messages.append(Message(role="user", content=pair["user"]))
        messages.append(
            Message(role="assistant", content=answer if isinstance(answer, str) else json.dumps(answer))
        )
    return messages
