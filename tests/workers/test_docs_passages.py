"""Docs search answers with the passage that holds the fact: the paragraph, whole, with its lines and section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from echelon.examples.documents import generate_documents
from echelon.servers.workers.docs._passages import MAX_PASSAGE_CHARS, split_passages
from echelon.servers.workers.docs.server import build_server
from tests.workers._calls import call

pytestmark = pytest.mark.anyio

MEMO = """# Field Memo

Intro paragraph about nothing in particular.
It runs over two lines.

## Tides

The harbour floods twice a day.

## Lanterns

The lighthouse keeper trims the wick at dusk,
and the lantern burns for eleven hours on a winter night.

- first item
- second item
"""


def lines(text: str, start: int, end: int) -> str:
    return "\n".join(text.split("\n")[start - 1 : end])


async def test_search_returns_the_paragraph_with_the_matching_sentence_whole(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "memo.md").write_text(MEMO, "utf-8")
    async with Client(build_server(docs, tmp_path / "idx.db")) as client:
        result = await call(client, "search", query="how long does the lantern burn")
        hit = result["hits"][0]
        document = await call(client, "read_document", doc_id=hit["id"])
        ranged = await call(
            client, "read_document", doc_id=hit["id"], start_line=hit["start_line"], end_line=hit["end_line"]
        )
    assert hit["passage"] == (
        "The lighthouse keeper trims the wick at dusk,\nand the lantern burns for eleven hours on a winter night."
    )
    assert (hit["start_line"], hit["end_line"], hit["section"]) == (12, 13, "Lanterns")
    assert lines(document["text"], hit["start_line"], hit["end_line"]) == hit["passage"] == ranged["text"]
    assert hit["title"] == "Field Memo" and "snippet" not in hit


async def test_the_demo_documents_answer_with_the_sentence_that_states_the_fact(tmp_path: Path) -> None:
    generate_documents(tmp_path / "demo")
    async with Client(build_server(tmp_path / "demo", tmp_path / "idx.db")) as client:
        warranty = await call(client, "search", query="how long is the warranty?")
        approval = await call(client, "search", query="who approves a discount above the ceiling")
        ceilings = await call(client, "search", query="discount ceiling for outfitters", limit=1)
    first = warranty["hits"][0]
    assert first["path"] == "returns-and-warranty-faq.txt"
    assert first["passage"].startswith("Q: How long is the warranty?\nA: ")
    assert "ten-year warranty" in first["passage"]
    assert approval["hits"][0]["path"] == "pricing-and-discount-policy.html"
    assert "needs written approval from the VP of Sales" in approval["hits"][0]["passage"]
    # An HTML list is one passage (its items one per line), under the heading before it.
    listed = ceilings["hits"][0]
    assert listed["section"] == "Discount ceilings by segment"
    assert listed["passage"].count("\n- ") == 3 and "- Outfitter: 10% standard" in listed["passage"]


async def test_results_stay_compact(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    sentence = "The ferry schedule changes in spring and the harbour master posts it at the pier. "
    for i in range(6):
        (docs / f"long{i}.txt").write_text(("ferry " + sentence * 40 + "\n\n") * 5, "utf-8")
    async with Client(build_server(docs, tmp_path / "idx.db")) as client:
        result = await call(client, "search", query="ferry schedule", limit=5)
    assert len(result["hits"]) == 5
    assert all(len(h["passage"]) <= MAX_PASSAGE_CHARS for h in result["hits"])
    assert len(json.dumps(result)) < 5 * (MAX_PASSAGE_CHARS + 200)


def test_long_paragraphs_are_cut_between_lines_or_sentences_and_never_lose_text() -> None:
    items = "\n".join(f"- item {i} " + "word " * 20 for i in range(12))
    long_line = " ".join(f"Sentence {i} says something." for i in range(60))
    text = f"Title line\n\nIntro paragraph.\n\nHeading line\n\n{items}\n\n{long_line}"
    passages = split_passages(text, "text", limit=300)
    assert all(len(p.text) <= 300 for p in passages)
    item_chunks = [p for p in passages if p.text.startswith("- item")]
    assert "\n".join(p.text for p in item_chunks) == items  # whole lines, in order, none lost
    # The first heading is the document's title; the later one names the section of what follows it.
    assert [(p.text, p.section) for p in passages[:1]] == [("Intro paragraph.", "")]
    assert all(p.section == "Heading line" for p in passages[1:])
    sentence_chunks = [p for p in passages if p.start_line == p.end_line == 20]  # after 12 item lines
    assert " ".join(p.text for p in sentence_chunks) == long_line
    assert all(p.text.endswith("something.") for p in sentence_chunks)


def test_a_document_of_headings_only_still_has_passages() -> None:
    assert [p.text for p in split_passages("# Only a title", "markdown")] == ["# Only a title"]
    assert split_passages("", "text") == []
