"""Split a document's text into passages: its paragraphs, whole, with their line numbers and section heading.

Search answers with the passage that holds the fact, so a model can quote it. A passage is a run of non-blank
lines (a paragraph, a list, a table, a question and its answer). Headings are not passages but name the section
of the passages under them: Markdown's ``#`` lines, and in any document a short line standing alone without
closing punctuation. A heading before the first passage is the document's title, which names no section. A paragraph longer than ``MAX_PASSAGE_CHARS`` is cut between lines (before
a list item or table row where possible), and a single line that long between sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._extract import DocKind

MAX_PASSAGE_CHARS = 600
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*([-*+]|\d+[.)]|\|)\s")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_HEADING_CHARS = 80


@dataclass(frozen=True)
class Passage:
    start_line: int  # 1-based, as read_document numbers lines
    end_line: int
    text: str
    section: str


def _sentences(line: str, limit: int) -> list[str]:
    """``line`` in pieces of whole sentences of at most ``limit`` characters (a longer sentence is cut)."""
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(line.strip()):
        if len(sentence) > limit:
            sentence = sentence[: limit - 1] + "…"
        if current and len(current) + 1 + len(sentence) > limit:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces


def _chunks(block: list[tuple[int, str]], limit: int) -> list[tuple[int, int, str]]:
    """A block of (line number, line) in chunks of whole lines of at most ``limit`` characters."""
    chunks: list[tuple[int, int, str]] = []
    current: list[tuple[int, str]] = []

    def flush() -> None:
        if current:
            chunks.append((current[0][0], current[-1][0], "\n".join(line for _, line in current)))
            current.clear()

    for number, line in block:
        if len(line) > limit:
            flush()
            chunks.extend((number, number, piece) for piece in _sentences(line, limit))
            continue
        size = sum(len(text) + 1 for _, text in current) + len(line)
        if current and size > limit:
            # Break before a list item or table row when the current chunk has one to break at.
            starts = [i for i, (_, text) in enumerate(current) if i and _ITEM.match(text)]
            if starts and not _ITEM.match(line):
                carried = current[starts[-1] :]
                del current[starts[-1] :]
                flush()
                current.extend(carried)
            else:
                flush()
        current.append((number, line))
    flush()
    return chunks


def _is_heading(block: list[tuple[int, str]]) -> bool:
    if len(block) != 1:
        return False
    line = block[0][1].strip()
    return len(line) <= _HEADING_CHARS and not _ITEM.match(line) and not line.endswith(tuple(".!?:;,)]}\"'"))


def split_passages(text: str, kind: DocKind, limit: int = MAX_PASSAGE_CHARS) -> list[Passage]:
    """The passages of a document's (extracted) text, in order; a document of headings only gives them."""
    passages: list[Passage] = []
    headings: list[Passage] = []
    section = ""
    block: list[tuple[int, str]] = []

    def heading(number: int, line: str, name: str) -> None:
        nonlocal section
        headings.append(Passage(number, number, line.strip(), ""))
        section = name if passages else ""  # before any passage: the document's title

    def close() -> None:
        if block and _is_heading(block):
            heading(*block[0], block[0][1].strip())
        else:
            for start, end, body in _chunks(block, limit):
                passages.append(Passage(start, end, body, section))
        block.clear()

    for number, line in enumerate(text.split("\n"), start=1):
        found = _MD_HEADING.match(line) if kind == "markdown" else None
        if found is not None:
            close()
            heading(number, line, found.group(1).strip())
        elif line.strip():
            block.append((number, line))
        else:
            close()
    close()
    return passages or headings
