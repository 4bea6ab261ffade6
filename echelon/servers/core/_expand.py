"""``${NAME}`` and ``${NAME:-default}`` in config values, where a default may itself hold ``${OTHER}``.

As in a shell, ``:-`` takes the default when the variable is unset or empty. A regular expression cannot match
the nested braces of a default, so this is a small scanner that counts them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Lookup = Callable[[str], str | None]


def expand(text: str, lookup: Lookup) -> tuple[str, list[str]]:
    """``text`` with every reference replaced, and a message for each reference that could not be."""
    problems: list[str] = []
    return _expand(text, lookup, problems), problems


def _expand(text: str, lookup: Lookup, problems: list[str]) -> str:
    out: list[str] = []
    i = 0
    while (start := text.find("${", i)) != -1:
        out.append(text[i:start])
        end = _closing_brace(text, start + 2)
        if end is None:
            problems.append(f"unclosed '${{' in {text!r}: write ${{NAME}} or ${{NAME:-default}}")
            return "".join(out) + text[start:]
        out.append(_reference(text[start + 2 : end], lookup, problems))
        i = end + 1
    out.append(text[i:])
    return "".join(out)


def _closing_brace(text: str, i: int) -> int | None:
    """The index of the ``}`` that closes the reference whose body starts at ``i``."""
    depth = 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return None


def _reference(body: str, lookup: Lookup, problems: list[str]) -> str:
    name_match = _NAME.match(body)
    name = name_match.group(0) if name_match else ""
    rest = body[len(name) :]
    if not name or (rest and not rest.startswith(":-")):
        problems.append(f"'${{{body}}}' is not a reference: write ${{NAME}} or ${{NAME:-default}}")
        return f"${{{body}}}"
    value = lookup(name)
    if rest:  # ':-default', expanded only when it is used
        return value if value else _expand(rest[2:], lookup, problems)
    if value is None:
        problems.append(
            f"${{{name}}} is not set (an environment variable or a built-in); set it or give a default: "
            f"${{{name}:-value}}"
        )
        return f"${{{name}}}"
    return value
