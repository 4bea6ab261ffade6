"""The docs worker in-process: search, reading, listing, incremental indexing and the folder boundary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from echelon.examples.documents import generate_documents
from echelon.servers.workers.docs._index import DocumentIndex, fts_query
from echelon.servers.workers.docs.server import build_server, default_index_path, main, server_for_index
from tests.workers._calls import call, call_error

pytestmark = pytest.mark.anyio

HTML_DOC = """<!DOCTYPE html><html><head><title>Trail  Report</title>
<style>.x { color: red }</style><script>var leaked = "scriptsecret";</script></head>
<body><h1>Heading one</h1><p>Snow on the &amp; upper <b>pass</b>.</p><ul><li>bring crampons</li></ul></body></html>
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "alpha.md").write_text("# Alpha Plan\n\nThe alpha plan covers glaciers.\nLine three.\n", "utf-8")
    (docs / "beta-notes.txt").write_text("beta notes mention pelicans\nsecond line\n", "utf-8")
    (docs / "sub" / "report.html").write_text(HTML_DOC, "utf-8")
    (docs / "image.png").write_bytes(b"\x89PNG not a document")
    (docs / ".hidden.md").write_text("# Hidden\nhiddenword\n", "utf-8")
    return docs


@pytest.fixture
def index(folder: Path, tmp_path: Path) -> DocumentIndex:
    return DocumentIndex(folder, tmp_path / "cache" / "index.db")


async def ids_by_path(client: Client) -> dict[str, int]:
    listing = await call(client, "list_documents")
    return {d["path"]: d["id"] for d in listing["documents"]}


async def test_exposes_three_described_tools_with_output_schemas(index: DocumentIndex) -> None:
    async with Client(server_for_index(index)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {"search", "read_document", "list_documents"}
    for tool in tools.values():
        assert tool.description and tool.output_schema
    assert "path" not in tools["read_document"].input_schema["properties"]


async def test_list_documents_shows_indexable_files_only(index: DocumentIndex) -> None:
    async with Client(server_for_index(index)) as client:
        listing = await call(client, "list_documents")
    assert listing["count"] == 3
    by_path = {d["path"]: d for d in listing["documents"]}
    assert set(by_path) == {"alpha.md", "beta-notes.txt", "sub/report.html"}
    assert by_path["alpha.md"]["size"] == (index.folder / "alpha.md").stat().st_size
    assert by_path["alpha.md"]["modified"].endswith("+00:00")
    assert by_path["alpha.md"]["kind"] == "markdown" and by_path["sub/report.html"]["kind"] == "html"


async def test_titles_come_from_heading_title_tag_or_file_name(index: DocumentIndex) -> None:
    async with Client(server_for_index(index)) as client:
        listing = await call(client, "list_documents")
    titles = {d["path"]: d["title"] for d in listing["documents"]}
    assert titles == {
        "alpha.md": "Alpha Plan",
        "beta-notes.txt": "Beta notes",
        "sub/report.html": "Trail Report",
    }


async def test_search_ranks_the_most_relevant_demo_document_first(tmp_path: Path) -> None:
    generate_documents(tmp_path / "demo")
    server = build_server(tmp_path / "demo", tmp_path / "idx.db")
    async with Client(server) as client:
        found = await call(client, "search", query="Mountain West growth", limit=3)
        warranty = await call(client, "search", query="how long is the warranty?")
    assert found["match"] == "all_terms" and len(found["hits"]) == 3
    first = found["hits"][0]
    assert first["path"] == "regional-strategy-mountain-west.md"
    assert "Mountain West is our fastest-growing region" in first["passage"]
    assert [h["score"] for h in found["hits"]] == sorted((h["score"] for h in found["hits"]), reverse=True)
    assert warranty["hits"][0]["path"] == "returns-and-warranty-faq.txt"


async def test_documents_tied_on_words_every_one_has_are_ranked_by_their_best_passage(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    # Every document has both words, so bm25 weighs them nothing; only one says them in the same paragraph.
    filler = "Nothing else of note happened that week. " * 4
    for name in ("a-notes", "b-notes", "c-notes"):
        text = f"# {name}\n\n## Sales\n\nOrders came in. {filler}\n\n## Calendar\n\nThe year was 2025. {filler}\n"
        (docs / f"{name}.md").write_text(text, "utf-8")
    text = f"# Overview\n\n## Figures\n\nOrders 2025: 5,062. {filler}\n\n## Other\n\n{filler}\n\n{filler}\n"
    (docs / "d-overview.md").write_text(text, "utf-8")
    async with Client(build_server(docs, tmp_path / "idx.db")) as client:
        found = await call(client, "search", query="2025 orders", limit=1)
    assert found["match"] == "all_terms"
    assert found["hits"][0]["path"] == "d-overview.md" and "5,062" in found["hits"][0]["passage"]


async def test_search_falls_back_to_any_word_when_no_document_has_all(index: DocumentIndex) -> None:
    async with Client(server_for_index(index)) as client:
        result = await call(client, "search", query="glaciers pelicans")
        nothing = await call(client, "search", query="zeppelin")
    assert result["match"] == "any_term"
    assert {h["path"] for h in result["hits"]} == {"alpha.md", "beta-notes.txt"}
    assert nothing["match"] == "none" and nothing["hits"] == [] and "list_documents" in nothing["note"]


@pytest.mark.parametrize(
    "query",
    ['"glaciers', "glaciers AND", "OR glaciers NOT", "glac*", "(glaciers", "title:glaciers", "NEAR(glaciers plan)",
     "'; DROP TABLE documents; --", "^glaciers", "-glaciers", "{title body}: glaciers", "glaciers\x00"],
)  # fmt: skip
async def test_search_never_breaks_on_fts5_syntax_in_user_text(index: DocumentIndex, query: str) -> None:
    async with Client(server_for_index(index)) as client:
        result = await client.call_tool("search", {"query": query})
        listing = await call(client, "list_documents")
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert listing["count"] == 3  # and nothing was dropped


async def test_search_text_gives_each_passage_with_where_it_is_not_json(index: DocumentIndex) -> None:
    async with Client(server_for_index(index)) as client:
        result = await client.call_tool("search", {"query": "glaciers"})
    text = result.content[0].text if result.content[0].type == "text" else ""
    assert result.structured_content and result.structured_content["hits"][0]["path"] == "alpha.md"
    assert "The alpha plan covers glaciers." in text
    assert "Alpha Plan (alpha.md" in text and "lines 3-4" in text
    assert not text.lstrip().startswith("{")


async def test_search_without_words_is_a_clear_error(index: DocumentIndex) -> None:
    async with Client(server_for_index(index)) as client:
        message = await call_error(client, "search", query=' "*" ( ) - ')
    assert "no searchable words" in message


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('alpha "beta" OR gamma*', "all_terms") == '"alpha" AND "beta" AND "or" AND "gamma"'
    assert fts_query("x y", "any_term") == '"x" OR "y"'
    assert fts_query("?!", "all_terms") is None


async def test_search_respects_the_limit(tmp_path: Path) -> None:
    docs = tmp_path / "many"
    docs.mkdir()
    for i in range(8):
        (docs / f"note{i}.md").write_text(f"# Note {i}\ncommon word\n", "utf-8")
    async with Client(build_server(docs, tmp_path / "i.db")) as client:
        two = await call(client, "search", query="common", limit=2)
        too_many = await client.call_tool("search", {"query": "common", "limit": 0})
    assert len(two["hits"]) == 2
    assert too_many.is_error


async def test_html_is_read_as_text_without_markup_scripts_or_styles(index: DocumentIndex) -> None:
    async with Client(server_for_index(index)) as client:
        ids = await ids_by_path(client)
        doc = await call(client, "read_document", doc_id=ids["sub/report.html"])
        script = await call(client, "search", query="scriptsecret")
    assert doc["title"] == "Trail Report"
    assert "Snow on the & upper pass." in doc["text"] and "- bring crampons" in doc["text"]
    assert "<" not in doc["text"] and "scriptsecret" not in doc["text"] and "color" not in doc["text"]
    assert script["hits"] == []


async def test_read_document_returns_whole_text_or_a_line_range(index: DocumentIndex) -> None:
    async with Client(server_for_index(index)) as client:
        doc_id = (await ids_by_path(client))["alpha.md"]
        whole = await call(client, "read_document", doc_id=doc_id)
        part = await call(client, "read_document", doc_id=str(doc_id), start_line=3, end_line=99)
        past_end = await call_error(client, "read_document", doc_id=doc_id, start_line=50)
        reversed_range = await call_error(client, "read_document", doc_id=doc_id, start_line=3, end_line=2)
    assert whole["text"] == "# Alpha Plan\n\nThe alpha plan covers glaciers.\nLine three."
    assert whole["total_lines"] == 4 and whole["path"] == "alpha.md" and not whole["truncated"]
    assert part["text"] == "The alpha plan covers glaciers.\nLine three."
    assert (part["start_line"], part["end_line"]) == (3, 4)
    assert "past the end" in past_end and "4 lines" in past_end
    assert "before start_line" in reversed_range


async def test_unknown_document_id_points_to_list_documents(index: DocumentIndex) -> None:
    async with Client(server_for_index(index)) as client:
        message = await call_error(client, "read_document", doc_id=9999)
        huge = await call_error(client, "read_document", doc_id=2**70)
    assert "9999" in message and "list_documents" in message
    assert "list_documents" in huge


@pytest.mark.parametrize(
    "doc_id", ["../../etc/passwd", "/etc/passwd", "alpha.md", "sub/report.html", "1; --"]
)
async def test_paths_are_not_document_ids(index: DocumentIndex, doc_id: str) -> None:
    async with Client(server_for_index(index)) as client:
        message = await call_error(client, "read_document", doc_id=doc_id)
    assert "is not a document id" in message and "list_documents" in message
    assert "root:" not in message


async def test_symlinks_leading_outside_the_folder_are_not_indexed(folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\nclassifiedword\n", "utf-8")
    try:
        (folder / "leak.md").symlink_to(outside / "secret.md")
        (folder / "leakdir").symlink_to(outside, target_is_directory=True)
        (folder / "alias.md").symlink_to(folder / "alpha.md")
    except OSError as exc:  # pragma: no cover - platforms without symlink permission
        pytest.skip(f"cannot create symlinks here: {exc}")
    index = DocumentIndex(folder, tmp_path / "idx.db")
    async with Client(server_for_index(index)) as client:
        paths = set(await ids_by_path(client))
        secret = await call(client, "search", query="classifiedword")
    assert "leak.md" not in paths and not any(p.startswith("leakdir") for p in paths)
    assert "alias.md" in paths  # a link that stays inside the folder is fine
    assert secret["hits"] == []
    assert index.last_sync.skipped >= 1


async def test_index_updates_incrementally_and_skips_unchanged_files(
    folder: Path, index: DocumentIndex, tmp_path: Path
) -> None:
    async with Client(server_for_index(index)) as client:
        before = await ids_by_path(client)
        assert index.files_indexed == 3 and index.last_sync.added == 3
        await call(client, "search", query="glaciers")
        assert index.files_indexed == 3 and index.last_sync.unchanged == 3  # nothing re-read

        alpha = folder / "alpha.md"
        alpha.write_text("# Alpha Plan v2\n\nNow about zeppelins.\n", "utf-8")
        stat = alpha.stat()
        os.utime(alpha, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
        (folder / "gamma.md").write_text("# Gamma\nnew pelican sighting\n", "utf-8")
        (folder / "beta-notes.txt").unlink()

        zeppelin = await call(client, "search", query="zeppelins")
        assert index.files_indexed == 5  # alpha re-read, gamma added, report.html untouched
        stats = index.last_sync
        assert (stats.added, stats.updated, stats.removed, stats.unchanged) == (1, 1, 1, 1)
        assert [h["path"] for h in zeppelin["hits"]] == ["alpha.md"]
        assert zeppelin["hits"][0]["passage"] == "Now about zeppelins."  # passages are re-read with the file
        assert zeppelin["hits"][0]["id"] == before["alpha.md"]  # ids survive edits
        assert (await call(client, "search", query="glaciers"))["hits"] == []
        pelican = await call(client, "search", query="pelican")
        assert [h["path"] for h in pelican["hits"]] == ["gamma.md"]
        gone = await call_error(client, "read_document", doc_id=before["beta-notes.txt"])
        assert "list_documents" in gone
        assert (await call(client, "read_document", doc_id=before["alpha.md"]))["title"] == "Alpha Plan v2"
    index.close()

    reopened = DocumentIndex(folder, index.index_path)
    assert reopened.sync().unchanged == 3 and reopened.files_indexed == 0  # the index persists
    reopened.close()


async def test_concurrent_calls_share_one_index_safely(index: DocumentIndex) -> None:
    results: list[dict[str, Any]] = []

    async with Client(server_for_index(index)) as client:

        async def one() -> None:
            results.append(await call(client, "search", query="glaciers"))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for _ in range(12):
                    group.start_soon(one)
    assert len(results) == 12 and all(r["hits"][0]["path"] == "alpha.md" for r in results)
    assert index.files_indexed == 3


def test_the_index_lives_outside_the_folder(folder: Path) -> None:
    before = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    default = default_index_path(folder)
    assert not default.is_relative_to(folder)
    assert default.parent.name == "docs-index" and default.suffix == ".db"
    assert default_index_path(folder) == default and default_index_path(folder.parent) != default
    with pytest.raises(ValueError, match="outside the documents folder"):
        build_server(folder, folder / "index.db")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == before


def test_a_foreign_database_is_never_used_as_index(folder: Path, tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "important.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.close()
    with pytest.raises(ValueError, match="not an echelon docs index"):
        build_server(folder, other)
    with sqlite3.connect(other) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("customers",)]
    conn.close()
    (tmp_path / "junk.db").write_bytes(b"x" * 4096)
    with pytest.raises(ValueError, match="not a SQLite database"):
        build_server(folder, tmp_path / "junk.db")


def test_an_index_built_for_another_folder_is_rebuilt(folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.md").write_text("# X\n", "utf-8")
    shared = tmp_path / "shared.db"
    first = DocumentIndex(other, shared)
    assert first.sync().added == 1
    first.close()
    second = DocumentIndex(folder, shared)
    assert second.sync().added == 3
    assert {d.path for d in second.documents()} == {"alpha.md", "beta-notes.txt", "sub/report.html"}
    second.close()


def test_main_refuses_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--folder", str(tmp_path / "missing")])
    assert exited.value.code == 2
    assert "does not exist" in capsys.readouterr().err
