"""Turn a document file into (title, text): HTML becomes plain text, Markdown and text stay as written."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

DocKind = Literal["markdown", "text", "html"]

KINDS: dict[str, DocKind] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".html": "html",
    ".htm": "html",
}

_SKIPPED_TAGS = {"script", "style", "noscript", "template", "svg"}
_BLOCK_TAGS = {
    "p", "div", "table", "section", "article", "header", "footer", "nav", "aside", "main",
    "ul", "ol", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "figure", "form", "dl",
}  # fmt: skip
# Lines of one block: a list's items and a table's rows stay together as one paragraph.
_LINE_TAGS = {"br", "li", "tr", "dt", "dd"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


class _HTMLText(HTMLParser):
    """Collects visible text with line breaks at block elements; remembers <title> and the first heading."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.first_heading = ""
        self._skip_depth = 0
        self._pre_depth = 0
        self._in_title = False
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag == "pre":
            self._pre_depth += 1
        if tag in _BLOCK_TAGS or tag in _LINE_TAGS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        if tag in _HEADINGS and self._heading is None and not self.first_heading:
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIPPED_TAGS and self._skip_depth:
            self._skip_depth -= 1
        elif tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag in _HEADINGS and self._heading is not None:
            self.first_heading = " ".join("".join(self._heading).split())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._skip_depth:
            return
        if not self._pre_depth:
            data = re.sub(r"\s+", " ", data)  # line breaks in HTML source are spaces; only tags break lines
        self.parts.append(data)
        if self._heading is not None:
            self._heading.append(data)


def _tidy(text: str) -> str:
    """Collapse runs of spaces inside lines and of blank lines between them."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def html_to_text(html: str) -> tuple[str, str]:
    """Visible text of an HTML document and its title (<title>, else the first heading, else empty)."""
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    title = " ".join(parser.title.split()) or parser.first_heading
    return title, _tidy("".join(parser.parts))


def _markdown_title(text: str) -> str:
    for line in text.splitlines():
        match = _MD_HEADING.match(line)
        if match:
            return match.group(1).strip()
    return ""


def _title_from_filename(path: Path) -> str:
    words = re.sub(r"[-_]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


def extract(path: Path, raw: bytes) -> tuple[str, str]:
    """(title, text) of a document whose suffix is in ``KINDS``; undecodable bytes are replaced."""
    kind = KINDS[path.suffix.lower()]
    source = raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    if source.startswith("\ufeff"):
        source = source[1:]
    if kind == "html":
        title, text = html_to_text(source)
    else:
        text = source.rstrip()
        title = _markdown_title(text) if kind == "markdown" else ""
    return title or _title_from_filename(path), text
