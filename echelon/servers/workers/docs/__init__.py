"""Docs worker: full-text search (SQLite FTS5, bm25) over a folder of Markdown, text and HTML documents."""
