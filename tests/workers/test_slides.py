"""The slides worker in-process: real .pptx files reopened with python-pptx, outlines, and safe file names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from pptx import Presentation
from pptx.shapes.autoshape import Shape
from pptx.slide import Slide
from pptx.util import Pt

from echelon.servers.core.envelope import Artifact
from echelon.servers.workers.slides.server import MAX_SLIDES, PPTX_MIME, build_server, main
from tests.workers._calls import call, call_error

pytestmark = pytest.mark.anyio

SLIDES: list[dict[str, Any]] = [
    {
        "title": "Growth by region",
        "bullets": ["Mountain West +32.8%", "Great Lakes +12.0%", "Southwest -12.2%"],
        "notes": "Open with the Mountain West story.",
        "image_suggestion": "Bar chart of 2025 growth by region",
    },
    {"title": "Next steps", "bullets": ["Replicate the outfitter program", "Southwest turnaround"]},
    {"title": "Questions"},
]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _texts(shapes: Any) -> list[str]:
    return [shape.text_frame.text for shape in shapes if isinstance(shape, Shape) and shape.has_text_frame]


def _bullets(slide: Slide) -> list[str]:
    body = slide.placeholders[1]
    assert isinstance(body, Shape)
    return [p.text for p in body.text_frame.paragraphs]


async def test_exposes_described_tools(tmp_path: Path) -> None:
    async with Client(build_server(tmp_path / "out")) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {"create_deck", "outline"}
    assert all(t.description for t in tools.values())
    assert "SlideSpec" in str(tools["create_deck"].input_schema)


async def test_create_deck_writes_a_real_pptx_with_titles_bullets_and_notes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with Client(build_server(out)) as client:
        result = await call(
            client,
            "create_deck",
            title="2025 Review",
            slides=SLIDES,
            subtitle="Leadership offsite",
            filename="review",
        )
    artifact = Artifact.model_validate(result["artifact"])
    path = Path(artifact.path)
    assert path == (out / "review.pptx").resolve() and path.is_absolute()
    assert artifact.name == "review.pptx" and artifact.mime_type == PPTX_MIME
    assert artifact.size_bytes == (await anyio.Path(path).stat()).st_size > 10_000
    assert result["slide_count"] == 4

    deck = Presentation(str(path))
    slides = list(deck.slides)
    assert len(slides) == 4
    assert _texts(slides[0].shapes) == ["2025 Review", "Leadership offsite"]
    growth = slides[1]
    assert growth.shapes.title is not None and growth.shapes.title.text_frame.text == "Growth by region"
    assert _bullets(growth) == SLIDES[0]["bullets"]
    body = growth.placeholders[1]
    assert isinstance(body, Shape)
    assert {run.font.size for p in body.text_frame.paragraphs for run in p.runs} == {Pt(24)}
    assert "Image suggestion: Bar chart of 2025 growth by region" in _texts(growth.shapes)
    assert growth.has_notes_slide
    notes = growth.notes_slide.notes_text_frame
    assert notes is not None
    assert (
        notes.text
        == "Open with the Mountain West story.\n\nImage suggestion: Bar chart of 2025 growth by region"
    )
    assert _bullets(slides[2]) == SLIDES[1]["bullets"]
    assert not slides[2].has_notes_slide
    assert _texts(slides[3].shapes) == ["Questions"]  # no empty body box on a title-only slide
    assert deck.core_properties.title == "2025 Review"


async def test_files_are_named_from_the_title_and_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with Client(build_server(out)) as client:
        first = await call(client, "create_deck", title="Q3 Review: Sales & Growth!", slides=SLIDES[:1])
        original = await anyio.Path(first["artifact"]["path"]).read_bytes()
        second = await call(client, "create_deck", title="Q3 Review: Sales & Growth!", slides=SLIDES[1:2])
        third = await call(
            client, "create_deck", title="Other", slides=SLIDES, filename="q3-review-sales-growth.pptx"
        )
        unicode = await call(client, "create_deck", title="日本語", slides=SLIDES[:1])
    names = [r["artifact"]["name"] for r in (first, second, third, unicode)]
    assert names == ["q3-review-sales-growth.pptx", "q3-review-sales-growth-2.pptx", "q3-review-sales-growth-3.pptx",
                     "deck.pptx"]  # fmt: skip
    assert await anyio.Path(first["artifact"]["path"]).read_bytes() == original
    assert _names(out) == sorted(names)


@pytest.mark.parametrize(
    ("filename", "problem"),
    [
        ("../escape.pptx", "directory separator"),
        ("sub/deck.pptx", "directory separator"),
        ("..\\escape.pptx", "directory separator"),
        ("/tmp/escape.pptx", "absolute path"),
        ("C:\\escape.pptx", "absolute path"),
        ("..", "'..'"),
        ("deck..pptx", "'..'"),
        (".hidden.pptx", "starts with '.'"),
        ("bad\x00name", "not allowed"),
        ("what?.pptx", "not allowed"),
        ("   ", "empty"),
    ],
)
async def test_unsafe_file_names_are_refused_and_nothing_is_written(
    tmp_path: Path, filename: str, problem: str
) -> None:
    out = tmp_path / "out"
    async with Client(build_server(out)) as client:
        message = await call_error(client, "create_deck", title="Deck", slides=SLIDES, filename=filename)
    assert problem in message and "filename" in message
    assert _names(out) == []
    assert _names(tmp_path) in ([], ["out"])


async def test_bad_deck_specs_are_clear_errors(tmp_path: Path) -> None:
    async with Client(build_server(tmp_path / "out")) as client:
        empty = await call_error(client, "create_deck", title="Deck", slides=[])
        untitled = await call_error(client, "create_deck", title="  ", slides=SLIDES)
        blank_slide = await call_error(client, "create_deck", title="Deck", slides=[{"title": ""}])
        too_many = await call_error(
            client, "create_deck", title="Deck", slides=[{"title": "x"}] * (MAX_SLIDES + 1)
        )
        outline_empty = await call_error(client, "outline", title="Deck", slides=[])
        wrong_shape = await client.call_tool("create_deck", {"title": "Deck", "slides": ["just a string"]})
    assert "slides is empty" in empty and "slides is empty" in outline_empty
    assert "title is empty" in untitled
    assert "slide 1 has an empty title" in blank_slide
    assert "too many" in too_many
    assert wrong_shape.is_error
    assert not (tmp_path / "out").exists()


async def test_control_characters_are_dropped_instead_of_breaking_the_file(tmp_path: Path) -> None:
    async with Client(build_server(tmp_path / "out")) as client:
        result = await call(
            client, "create_deck", title="Bell\x07 deck", slides=[{"title": "A\x0bB", "bullets": ["x\x01y"]}]
        )
    deck = Presentation(result["artifact"]["path"])
    assert _texts(deck.slides[0].shapes) == ["Bell deck"]
    assert _texts(deck.slides[1].shapes) == ["AB", "xy"]


async def test_outline_renders_markdown_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with Client(build_server(out)) as client:
        result = await client.call_tool(
            "outline", {"title": "2025 Review", "slides": SLIDES, "subtitle": "Offsite"}
        )
    assert not result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith("# 2025 Review\n\n_Offsite_\n")
    assert (
        "## 1. Growth by region\n\n- Mountain West +32.8%\n- Great Lakes +12.0%\n- Southwest -12.2%" in text
    )
    assert "> Image suggestion: Bar chart of 2025 growth by region" in text
    assert "Notes: Open with the Mountain West story." in text
    assert "## 3. Questions" in text
    assert result.structured_content == {"result": text}
    assert not out.exists()


def test_main_refuses_an_output_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(SystemExit) as exited:
        main(["--output-dir", str(not_a_dir)])
    assert exited.value.code == 2
    assert "not a directory" in capsys.readouterr().err
