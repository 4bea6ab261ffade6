"""The docs and slides workers as real subprocesses: stdio, Streamable HTTP, and the MCP Inspector CLI."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from pptx import Presentation

from echelon.examples.documents import generate_documents
from tests._inspector import inspect_server, require_inspector
from tests._servers import http_server, stdio_params

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    generate_documents(folder)
    return folder


def docs_args(documents: Path, index: Path) -> list[str]:
    return ["-m", "echelon.servers.workers.docs", "--folder", str(documents), "--index", str(index)]


async def check_docs_worker(client: Client) -> None:
    tools = {t.name for t in (await client.list_tools()).tools}
    assert tools == {"search", "read_document", "list_documents"}
    result = await client.call_tool("search", {"query": "warranty repairs", "limit": 2})
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["hits"][0]["path"] == "returns-and-warranty-faq.txt"
    escape = await client.call_tool("read_document", {"doc_id": "../../etc/passwd"})
    assert escape.is_error and "not a document id" in escape.content[0].text  # type: ignore[union-attr]


async def check_slides_worker(client: Client, out: Path) -> None:
    tools = {t.name for t in (await client.list_tools()).tools}
    assert tools == {"create_deck", "outline"}
    slides: list[dict[str, Any]] = [{"title": "Results", "bullets": ["Up 6%"], "notes": "Say it slowly"}]
    result = await client.call_tool("create_deck", {"title": "Over the wire", "slides": slides})
    assert not result.is_error and result.structured_content is not None
    path = Path(result.structured_content["artifact"]["path"])
    assert path.parent == await anyio.Path(out).resolve() and path.name == "over-the-wire.pptx"
    deck = Presentation(str(path))
    assert len(deck.slides) == 2
    notes = deck.slides[1].notes_slide.notes_text_frame
    assert notes is not None and notes.text == "Say it slowly"


async def test_docs_worker_over_stdio(documents: Path, tmp_path: Path) -> None:
    with anyio.fail_after(60):
        async with Client(stdio_params(docs_args(documents, tmp_path / "idx.db"))) as client:
            await check_docs_worker(client)
    assert (tmp_path / "idx.db").is_file()


async def test_docs_worker_over_streamable_http(documents: Path, tmp_path: Path) -> None:
    with anyio.fail_after(60):
        async with http_server(docs_args(documents, tmp_path / "idx.db")) as url, Client(url) as client:
            await check_docs_worker(client)


async def test_slides_worker_over_stdio(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with anyio.fail_after(60):
        async with Client(
            stdio_params(["-m", "echelon.servers.workers.slides", "--output-dir", str(out)])
        ) as client:
            await check_slides_worker(client, out)


async def test_slides_worker_over_streamable_http(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with anyio.fail_after(60):
        async with (
            http_server(["-m", "echelon.servers.workers.slides", "--output-dir", str(out)]) as url,
            Client(url) as client,
        ):
            await check_slides_worker(client, out)


async def test_inspector_cli_lists_and_calls_docs_tools(documents: Path, tmp_path: Path) -> None:
    require_inspector()
    server = [sys.executable, *docs_args(documents, tmp_path / "idx.db")]

    listed = await inspect_server(server, "--method", "tools/list")
    tools = {tool["name"]: tool for tool in listed["tools"]}
    assert set(tools) == {"search", "read_document", "list_documents"}
    assert "query" in tools["search"]["inputSchema"]["properties"]

    called = await inspect_server(
        server, "--method", "tools/call", "--tool-name", "search", "--tool-arg", "query=southwest turnaround"
    )
    assert called.get("isError") is not True
    hits = called["structuredContent"]["hits"]
    assert hits[0]["path"] == "regional-strategy-southwest.md"
    assert "Southwest" in hits[0]["passage"] and hits[0]["start_line"] <= hits[0]["end_line"]
