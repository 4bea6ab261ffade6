"""The slides worker: turns a title and slide specs into a real PowerPoint file, or a Markdown outline.

Files are written only into the output directory given at start-up, under a bare, checked file name, and an
existing file is never overwritten (a ``-2``, ``-3`` suffix is added instead).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from echelon import __version__
from echelon.servers.core.envelope import Artifact
from echelon.servers.core.serve import serve_main
from echelon.servers.core.tooling import answer_client_errors, tool

from ._files import FilenameError, check_filename, slugify, write_new
from ._outline import SlideSpec, clean, render_outline

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
MAX_SLIDES = 100

__all__ = ["PPTX_MIME", "DeckResult", "SlideSpec", "build_server", "main"]


class DeckResult(BaseModel):
    artifact: Artifact = Field(description="The .pptx file written")
    slide_count: int = Field(description="Slides in the deck, the title slide included")
    title: str


SlidesArg = Annotated[
    list[SlideSpec],
    Field(description=f"Content slides in order (1 to {MAX_SLIDES}); a title slide is added in front"),
]
TitleArg = Annotated[str, Field(description="Deck title, shown on the title slide")]
SubtitleArg = Annotated[str | None, Field(description="Optional subtitle for the title slide")]


def _check(title: str, slides: list[SlideSpec]) -> None:
    if not clean(title):
        raise ToolError("title is empty; give the deck a title")
    if not slides:
        raise ToolError(
            "slides is empty; give at least one slide as {title, bullets, notes, image_suggestion}"
        )
    if len(slides) > MAX_SLIDES:
        raise ToolError(f"{len(slides)} slides is too many; split the deck (at most {MAX_SLIDES} slides)")
    for number, spec in enumerate(slides, start=1):
        if not clean(spec.title):
            raise ToolError(f"slide {number} has an empty title; every slide needs a title")


def build_server(output_dir: Path) -> MCPServer:
    """A slides worker writing decks into ``output_dir`` (created on first write)."""
    output = Path(output_dir).expanduser().resolve()
    if output.exists() and not output.is_dir():
        raise ValueError(f"output directory {output} exists and is not a directory")

    server = MCPServer(
        "slides",
        version=__version__,
        instructions=(
            "Builds PowerPoint decks from a title and a list of slides (title, bullets, speaker notes, image "
            "suggestion). create_deck writes a .pptx file and returns it as an artifact; outline returns the "
            "same deck as Markdown without writing anything."
        ),
    )

    @tool(
        server,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False),
    )
    def create_deck(
        title: TitleArg,
        slides: SlidesArg,
        filename: Annotated[
            str | None,
            Field(
                description="Bare file name such as 'q3-review.pptx' (no folders); default: from the title"
            ),
        ] = None,
        subtitle: SubtitleArg = None,
    ) -> DeckResult:
        """Create a PowerPoint (.pptx) deck: a title slide, then one slide per spec with bullets, speaker notes
        and a box naming the suggested image. Returns the file as an artifact; existing files are never
        overwritten."""
        _check(title, slides)
        from ._deck import build_pptx  # python-pptx (15 MB) loads at the first deck, not at start

        try:
            name = check_filename(filename, ".pptx") if filename is not None else f"{slugify(title)}.pptx"
            data = build_pptx(title, slides, subtitle)
            path = write_new(output, name, data)
        except FilenameError as exc:
            raise ToolError(str(exc)) from exc
        count = len(slides) + 1
        artifact = Artifact(
            name=path.name,
            path=str(path),
            mime_type=PPTX_MIME,
            size_bytes=path.stat().st_size,
            description=f"{count}-slide PowerPoint deck: {clean(title)}",
        )
        return DeckResult(artifact=artifact, slide_count=count, title=clean(title))

    @tool(
        server, annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
    )
    def outline(title: TitleArg, slides: SlidesArg, subtitle: SubtitleArg = None) -> str:
        """Render a deck as a Markdown outline (title, then each slide's bullets, image suggestion and notes)
        without writing a file: use it to review the content before create_deck."""
        _check(title, slides)
        return render_outline(title, slides, subtitle)

    return answer_client_errors(server)


def _add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-dir", required=True, type=Path, help="Directory the decks are written to")


def main(argv: list[str] | None = None) -> None:
    serve_main(
        "echelon slides worker: build PowerPoint decks",
        lambda args: build_server(args.output_dir),
        _add_args,
        argv,
    )
