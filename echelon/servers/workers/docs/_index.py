"""A SQLite FTS5 index over one folder of documents, kept current incrementally.

Each ``sync()`` walks the folder and compares every file's size and mtime with what the index stored: only
new or changed files are read again, deleted ones are dropped. The index is a cache outside the folder, so the
folder is never written to; ``files_indexed`` counts the files read since this object was created (tests use
it to check that unchanged files are skipped).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._extract import KINDS, extract
from ._passages import split_passages

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
MARKER = "echelon-docs-index"
MAX_QUERY_TERMS = 32
_TERM = re.compile(r"\w+", re.UNICODE)
# Passages of document N have rowids N * PASSAGE_SPAN + 0, 1, ...: deleting a document's is one rowid range.
PASSAGE_SPAN = 1_000_000
TIE_CANDIDATES = 200  # documents read to break ties in bm25 among them
TIE_PASSAGES = 5000  # passages read for those ties
RANK_DIGITS = 3  # bm25 ranks equal to this many decimals tie (a word in most documents weighs about 1e-6)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    line_count INTEGER NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS fts
    USING fts5(title, body, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS passages
    USING fts5(body, section, start_line UNINDEXED, end_line UNINDEXED,
               tokenize = 'porter unicode61 remove_diacritics 2');
"""

MatchMode = Literal["all_terms", "any_term"]


@dataclass(frozen=True)
class SyncStats:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class DocRow:
    id: int
    path: str
    title: str
    kind: str
    size: int
    mtime_ns: int
    line_count: int


@dataclass(frozen=True)
class Hit:
    id: int
    path: str
    title: str
    score: float
    passage: str
    section: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class _Found:
    rel: str
    real: Path
    size: int
    mtime_ns: int


def fts_query(text: str, mode: MatchMode) -> str | None:
    """Free text -> a safe FTS5 query: every word double-quoted (no operators), joined by AND or OR."""
    terms = list(dict.fromkeys(t.lower() for t in _TERM.findall(text)))[:MAX_QUERY_TERMS]
    if not terms:
        return None
    quoted = [f'"{t}"' for t in terms]  # \w+ never contains a double quote, so quoting is exact
    return (" AND " if mode == "all_terms" else " OR ").join(quoted)


class DocumentIndex:
    """The index of one folder, stored in ``index_path``. Thread-safe; the database opens on first use."""

    def __init__(self, folder: Path, index_path: Path, *, max_file_bytes: int = 5_000_000) -> None:
        self.folder = folder.resolve()
        self.index_path = index_path
        self.max_file_bytes = max_file_bytes
        self.files_indexed = 0
        self.last_sync = SyncStats()
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    # -- storage ---------------------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.index_path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.index_path, check_same_thread=False)
            except (OSError, sqlite3.Error) as exc:
                raise ValueError(f"cannot open the index file {self.index_path}: {exc}") from exc
            try:
                self._prepare(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Create the schema, or reset it when the stored index is for another folder or schema version."""
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"index file {self.index_path} is not a SQLite database ({exc})") from exc
        if tables:
            try:
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            except sqlite3.Error:
                meta = {}
            if meta.get("marker") != MARKER:  # somebody else's database: never touch it
                raise ValueError(
                    f"index file {self.index_path} is not an echelon docs index; choose another --index"
                )
            if meta.get("version") != str(SCHEMA_VERSION) or meta.get("folder") != str(self.folder):
                logger.info("resetting docs index %s (other folder or schema version)", self.index_path)
                conn.executescript(
                    "DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS passages; DROP TABLE IF EXISTS documents;"
                    " DELETE FROM meta;"
                )
        conn.executescript(_SCHEMA)
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [("marker", MARKER), ("version", str(SCHEMA_VERSION)), ("folder", str(self.folder))],
            )

    def open(self) -> None:
        """Open (creating if needed) the index database now; raises ValueError for a foreign file."""
        with self._lock:
            self._db()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- scanning --------------------------------------------------------------------------------------------

    def _scan(self) -> tuple[dict[str, _Found], int]:
        """Indexable files under the folder (hidden entries skipped, symlinks only if they stay inside)."""
        found: dict[str, _Found] = {}
        skipped = 0
        for dirpath, dirnames, filenames in os.walk(self.folder, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if name.startswith(".") or path.suffix.lower() not in KINDS:
                    continue
                try:
                    real = path.resolve(strict=True)
                    stat = real.stat()
                except (OSError, RuntimeError):
                    skipped += 1
                    continue
                if not real.is_relative_to(self.folder) or not real.is_file():
                    logger.warning("skipping %s: it resolves outside the documents folder", path)
                    skipped += 1
                    continue
                if stat.st_size > self.max_file_bytes:
                    skipped += 1
                    continue
                rel = path.relative_to(self.folder).as_posix()
                found[rel] = _Found(rel, real, stat.st_size, stat.st_mtime_ns)
        return found, skipped

    def sync(self) -> SyncStats:
        """Bring the index up to date with the folder; cheap when nothing changed (one stat per file)."""
        with self._lock:
            conn = self._db()
            found, skipped = self._scan()
            stored = {
                row[0]: (row[1], row[2], row[3])
                for row in conn.execute("SELECT path, id, size, mtime_ns FROM documents")
            }
            added = updated = unchanged = 0
            with conn:
                for rel, item in found.items():
                    previous = stored.get(rel)
                    if previous is not None and previous[1:] == (item.size, item.mtime_ns):
                        unchanged += 1
                        continue
                    if not self._index_file(conn, item, None if previous is None else previous[0]):
                        skipped += 1
                    elif previous is None:
                        added += 1
                    else:
                        updated += 1
                removed_ids = [(doc_id,) for rel, (doc_id, _s, _m) in stored.items() if rel not in found]
                conn.executemany("DELETE FROM fts WHERE rowid = ?", removed_ids)
                conn.executemany("DELETE FROM documents WHERE id = ?", removed_ids)
                for (doc_id,) in removed_ids:
                    self._drop_passages(conn, doc_id)
            self.last_sync = SyncStats(added, updated, len(removed_ids), unchanged, skipped)
            return self.last_sync

    def _index_file(self, conn: sqlite3.Connection, item: _Found, doc_id: int | None) -> bool:
        try:
            raw = item.real.read_bytes()
        except OSError as exc:
            logger.warning("skipping %s: %s", item.rel, exc)
            return False
        title, text = extract(Path(item.rel), raw)  # the name inside the folder decides the kind
        self.files_indexed += 1
        kind = KINDS[Path(item.rel).suffix.lower()]
        lines = len(text.split("\n")) if text else 0
        if doc_id is None:
            cursor = conn.execute(
                "INSERT INTO documents (path, title, kind, size, mtime_ns, line_count)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (item.rel, title, kind, item.size, item.mtime_ns, lines),
            )
            doc_id = cursor.lastrowid
        else:
            conn.execute(
                "UPDATE documents SET title = ?, kind = ?, size = ?, mtime_ns = ?, line_count = ?"
                " WHERE id = ?",
                (title, kind, item.size, item.mtime_ns, lines, doc_id),
            )
            conn.execute("DELETE FROM fts WHERE rowid = ?", (doc_id,))
            self._drop_passages(conn, doc_id)
        conn.execute("INSERT INTO fts (rowid, title, body) VALUES (?, ?, ?)", (doc_id, title, text))
        if doc_id is None:  # pragma: no cover - sqlite always gives an AUTOINCREMENT row its id
            raise sqlite3.DatabaseError(f"no id for the new document {item.rel}")
        conn.executemany(
            "INSERT INTO passages (rowid, body, section, start_line, end_line) VALUES (?, ?, ?, ?, ?)",
            [
                (doc_id * PASSAGE_SPAN + n, p.text, p.section, p.start_line, p.end_line)
                for n, p in enumerate(split_passages(text, kind)[:PASSAGE_SPAN])
            ],
        )
        return True

    @staticmethod
    def _drop_passages(conn: sqlite3.Connection, doc_id: int) -> None:
        first = doc_id * PASSAGE_SPAN
        conn.execute("DELETE FROM passages WHERE rowid BETWEEN ? AND ?", (first, first + PASSAGE_SPAN - 1))

    @staticmethod
    def _passage_ranks(conn: sqlite3.Connection, query: str) -> dict[int, float]:
        """Each document's best passage bm25 rank for any of the query's words (lower is better)."""
        best: dict[int, float] = {}
        for rowid, rank in conn.execute(
            "SELECT rowid, bm25(passages, 1.0, 0.5) FROM passages WHERE passages MATCH ? ORDER BY 2 LIMIT ?",
            (fts_query(query, "any_term"), TIE_PASSAGES),
        ):
            best.setdefault(int(rowid) // PASSAGE_SPAN, float(rank))
        return best

    def _best_passage(self, conn: sqlite3.Connection, doc_id: int, query: str) -> tuple[str, str, int, int]:
        """The passage of ``doc_id`` that best matches any of the query's words (bm25; the heading it is under
        counts at half weight, so a list under "Discount ceilings" is about ceilings), else the first one."""
        first = doc_id * PASSAGE_SPAN
        span = (first, first + PASSAGE_SPAN - 1)
        expression = fts_query(query, "any_term")
        row = conn.execute(
            "SELECT body, section, start_line, end_line FROM passages"
            " WHERE passages MATCH ? AND rowid BETWEEN ? AND ? ORDER BY bm25(passages, 1.0, 0.5), rowid LIMIT 1",
            (expression, *span),
        ).fetchone()
        if row is None:  # the document matched on its title only
            row = conn.execute(
                "SELECT body, section, start_line, end_line FROM passages"
                " WHERE rowid BETWEEN ? AND ? ORDER BY rowid LIMIT 1",
                span,
            ).fetchone()
        return (str(row[0]), str(row[1]), int(row[2]), int(row[3])) if row else ("", "", 0, 0)

    # -- queries ---------------------------------------------------------------------------------------------

    def search(self, query: str, limit: int) -> tuple[list[Hit], MatchMode | None]:
        """Ranked hits for all the query's words; if none, for any of them. ``(hits, None)`` for no words.

        Documents are ranked by bm25. FTS5 gives a word found in most documents no weight at all, so in a small
        folder a query of common words ("2025 orders") ties every document; documents with equal scores are then
        ranked by their best passage (among many passages those words are still rare), not by their ids."""
        with self._lock:
            conn = self._db()
            for mode in ("all_terms", "any_term"):
                expression = fts_query(query, mode)
                if expression is None:
                    return [], None
                rows = conn.execute(
                    "SELECT d.id, d.path, d.title, bm25(fts, 5.0, 1.0) AS rank"
                    " FROM fts JOIN documents d ON d.id = fts.rowid"
                    " WHERE fts MATCH ? ORDER BY rank, d.id LIMIT ?",
                    (expression, max(limit, TIE_CANDIDATES)),
                ).fetchall()
                if rows:
                    ranks = [round(r[3], RANK_DIGITS) for r in rows]
                    tied = len(set(ranks)) < len(ranks)
                    passage_rank = self._passage_ranks(conn, query) if tied else {}
                    rows.sort(key=lambda r: (round(r[3], RANK_DIGITS), passage_rank.get(r[0], 0.0), r[0]))
                    rows = rows[:limit]
                    hits = [
                        Hit(r[0], r[1], r[2], -float(r[3]), *self._best_passage(conn, r[0], query))
                        for r in rows
                    ]
                    return hits, mode
            return [], "any_term"

    def get(self, doc_id: int) -> tuple[DocRow, str] | None:
        """A document's metadata and indexed text, or None for an id that is not in the index."""
        with self._lock:
            conn = self._db()
            row = conn.execute(
                "SELECT d.id, d.path, d.title, d.kind, d.size, d.mtime_ns, d.line_count, f.body"
                " FROM documents d JOIN fts f ON f.rowid = d.id WHERE d.id = ?",
                (doc_id,),
            ).fetchone()
        if row is None:
            return None
        return DocRow(*row[:7]), row[7]

    def documents(self) -> list[DocRow]:
        with self._lock:
            rows = (
                self._db()
                .execute(
                    "SELECT id, path, title, kind, size, mtime_ns, line_count FROM documents ORDER BY path"
                )
                .fetchall()
            )
        return [DocRow(*r) for r in rows]
