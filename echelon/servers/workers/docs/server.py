"""The docs worker: full-text search over one folder of Markdown, text and HTML documents.

Documents are addressed by index ids, never by paths, and only what the index holds can be read: no tool takes
a filesystem path, and symlinks leading out of the folder are never indexed. The index (SQLite FTS5, bm25
ranking) lives in a cache directory and is brought up to date at the start of every tool call.
"""

from __future__ import annotations

import argparse
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from echelon import __version__
from echelon.servers.core.serve import serve_main
from echelon.servers.core.tooling import DATA_FIELDS, answer_client_errors, tool, written_for_models

from ._index import DocRow, DocumentIndex

MAX_READ_CHARS = 40_000
_MAX_ID = 2**63 - 1  # SQLite's integer range
_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


class SearchHit(BaseModel):
    id: int = Field(description="Document id: pass it to read_document")
    path: str = Field(description="Path relative to the documents folder")
    title: str
    score: float = Field(description="bm25 relevance (higher is better)")
    section: str = Field(description="The heading the passage is under ('' when none)")
    passage: str = Field(
        description="The paragraph that best matches the query, whole and verbatim: quote it"
    )
    start_line: int = Field(description="The passage's first line (read_document numbering)")
    end_line: int = Field(description="The passage's last line")


class SearchResult(BaseModel):
    query: str
    match: Literal["all_terms", "any_term", "none"] = Field(
        description="all_terms: every word matched; any_term: no document had all words, so any word counted"
    )
    hits: list[SearchHit]
    note: str = ""


def search_text(result: SearchResult) -> str:
    """The hits as a reader would want them: where each passage is, then the passage itself, verbatim."""
    if not result.hits:
        return result.note or "No document matched."
    partial = "" if result.match == "all_terms" else " (no document had every word, so any word counted)"
    parts = [
        f"{len(result.hits)} passage{'s' if len(result.hits) != 1 else ''} for {result.query!r}{partial}:"
    ]
    for hit in result.hits:
        section = f", section {hit.section!r}" if hit.section else ""
        parts.append(
            f"{hit.title} ({hit.path}{section}, lines {hit.start_line}-{hit.end_line}, id {hit.id}):\n{hit.passage}"
        )
    return "\n\n".join(parts)


class DocumentText(BaseModel):
    id: int
    path: str
    title: str
    text: str = Field(
        description="The document's text (HTML converted to plain text), or the requested lines"
    )
    start_line: int = Field(description="First line returned (1-based)")
    end_line: int = Field(description="Last line returned (inclusive); 0 for an empty document")
    total_lines: int
    truncated: bool = Field(default=False, description="True when the text was cut; ask for later lines")


class DocumentInfo(BaseModel):
    id: int
    path: str = Field(description="Path relative to the documents folder")
    title: str
    kind: str = Field(description="markdown, text or html")
    size: int = Field(description="File size in bytes")
    modified: str = Field(description="Last modification time, ISO 8601 UTC")
    lines: int


class DocumentList(BaseModel):
    count: int
    documents: list[DocumentInfo]


def default_index_path(folder: Path) -> Path:
    """``<user cache dir>/echelon/docs-index/<hash of the folder's resolved path>.db``."""
    from platformdirs import user_cache_dir

    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:20]
    return Path(user_cache_dir("echelon", appauthor=False)) / "docs-index" / f"{digest}.db"


def _info(row: DocRow) -> DocumentInfo:
    modified = datetime.fromtimestamp(row.mtime_ns / 1e9, tz=UTC).isoformat(timespec="seconds")
    return DocumentInfo(
        id=row.id,
        path=row.path,
        title=row.title,
        kind=row.kind,
        size=row.size,
        modified=modified,
        lines=row.line_count,
    )


def _parse_id(doc_id: int | str) -> int:
    text = str(doc_id).strip()
    if not text.isdigit():
        raise ToolError(
            f"{doc_id!r} is not a document id. Ids are the integer `id` values returned by search or "
            "list_documents (file paths are not accepted); call list_documents to see them."
        )
    value = int(text)
    if value > _MAX_ID:
        raise ToolError(f"no document has id {value}; call list_documents (or search) to see the current ids")
    return value


def _line_window(text: str, start: int | None, end: int | None, doc: DocRow) -> tuple[str, int, int, bool]:
    lines = text.split("\n") if text else []
    total = len(lines)
    first = start or 1
    if total == 0:
        return "", 1, 0, False
    if first > total:
        raise ToolError(f"start_line {first} is past the end of document {doc.id} ({total} lines)")
    last = min(end or total, total)
    if last < first:
        raise ToolError(f"end_line {end} is before start_line {first}")
    picked: list[str] = []
    used = 0
    for number in range(first, last + 1):
        line = lines[number - 1]
        if picked and used + len(line) + 1 > MAX_READ_CHARS:
            return "\n".join(picked), first, number - 1, True
        picked.append(line[:MAX_READ_CHARS])
        used += len(line) + 1
    return "\n".join(picked), first, last, False


def build_server(folder: Path, index_path: Path | None = None) -> MCPServer:
    """A docs worker over ``folder``; the index goes to ``index_path`` (default: a per-folder cache file)."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"documents folder {folder} does not exist or is not a directory")
    index_file = Path(index_path).expanduser().resolve() if index_path else default_index_path(folder)
    if index_file.is_relative_to(folder):
        raise ValueError(f"the index {index_file} must live outside the documents folder {folder}")
    index = DocumentIndex(folder, index_file)
    index.open()  # fail at start-up, not on the first call, when the index file is unusable
    return server_for_index(index)


def server_for_index(index: DocumentIndex) -> MCPServer:
    """The docs worker over an existing index (``build_server`` is the usual entry; tests keep the index)."""
    server = MCPServer(
        "docs",
        version=__version__,
        instructions=(
            "Full-text search over a folder of company documents (Markdown, text, HTML). search answers with the "
            "paragraph that best matches the words, whole, with its lines: quote facts from it. read_document "
            "with a hit's id (and lines) reads more; list_documents shows every document."
        ),
    )

    @tool(server, annotations=_READ_ONLY, meta={DATA_FIELDS: ["hits"]})
    def search(
        query: Annotated[str, Field(description="Words to look for (plain text; no query syntax needed)")],
        limit: Annotated[int, Field(description="Maximum number of hits", ge=1, le=50)] = 5,
    ) -> Annotated[CallToolResult, SearchResult]:
        """Search the documents by keywords, best matches first (bm25). Each hit carries the paragraph that best
        matches the words, whole, with its lines: quote the fact from it, or read_document for more."""
        index.sync()
        hits, mode = index.search(query, limit)
        if mode is None:
            raise ToolError("the query has no searchable words; give one or more keywords")
        note = "" if hits else "No document matched; try other words, or list_documents to browse."
        result = SearchResult(
            query=query,
            match=mode if hits else "none",
            hits=[
                SearchHit(
                    id=h.id,
                    path=h.path,
                    title=h.title,
                    score=round(h.score, 4),
                    section=h.section,
                    passage=h.passage,
                    start_line=h.start_line,
                    end_line=h.end_line,
                )
                for h in hits
            ],
            note=note,
        )
        return written_for_models(result, search_text(result))

    @tool(server, annotations=_READ_ONLY)
    def read_document(
        doc_id: Annotated[
            int | str, Field(description="A document id from search or list_documents (not a path)")
        ],
        start_line: Annotated[int | None, Field(description="First line to return (1-based)", ge=1)] = None,
        end_line: Annotated[int | None, Field(description="Last line to return (inclusive)", ge=1)] = None,
    ) -> DocumentText:
        """Read one indexed document by id, whole or a range of lines."""
        index.sync()
        found = index.get(_parse_id(doc_id))
        if found is None:
            raise ToolError(
                f"no document has id {doc_id!r}; call list_documents (or search) to see the current ids"
            )
        doc, text = found
        window, first, last, truncated = _line_window(text, start_line, end_line, doc)
        return DocumentText(
            id=doc.id,
            path=doc.path,
            title=doc.title,
            text=window,
            start_line=first,
            end_line=last,
            total_lines=doc.line_count,
            truncated=truncated,
        )

    @tool(server, annotations=_READ_ONLY)
    def list_documents() -> DocumentList:
        """List every indexed document: id, relative path, title, size and modification time."""
        index.sync()
        documents = [_info(row) for row in index.documents()]
        return DocumentList(count=len(documents), documents=documents)

    return answer_client_errors(server)


def _add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--folder", required=True, type=Path, help="Folder of documents to index and search")
    parser.add_argument(
        "--index", type=Path, default=None, help="Index database file (default: in the user cache)"
    )


def main(argv: list[str] | None = None) -> None:
    serve_main(
        "echelon docs worker: search and read a folder of documents",
        lambda args: build_server(args.folder, args.index),
        _add_args,
        argv,
    )
