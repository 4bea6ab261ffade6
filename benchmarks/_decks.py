"""The text of the .pptx decks a run made, read with python-pptx: every text frame, table cell and speaker note."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pptx import Presentation
from pptx.exc import PackageNotFoundError
from pptx.shapes.autoshape import Shape
from pptx.shapes.base import BaseShape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape


def deck_text(path: Path) -> str:
    """All the text of the deck at ``path``, one frame per line."""
    prs = Presentation(str(path))
    lines: list[str] = []
    for slide in prs.slides:
        lines += _shape_texts(slide.shapes)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            lines.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(line for line in lines if line.strip())


def _shape_texts(shapes: Iterable[BaseShape]) -> list[str]:
    lines: list[str] = []
    for shape in shapes:
        if isinstance(shape, Shape):
            lines.append(shape.text_frame.text)
        elif isinstance(shape, GraphicFrame) and shape.has_table:
            lines += [cell.text for row in shape.table.rows for cell in row.cells]
        elif isinstance(shape, GroupShape):
            lines += _shape_texts(shape.shapes)
    return lines


def decks_made(paths: list[str], since: float) -> tuple[list[str], list[str]]:
    """The texts of the .pptx files among ``paths`` written at or after ``since`` (Unix time), and a note for each
    path that is not such a deck."""
    texts: list[str] = []
    notes: list[str] = []
    for name in paths:
        path = Path(name)
        if path.suffix.lower() != ".pptx":
            continue
        if not path.is_file():
            notes.append(f"{path} does not exist")
        elif path.stat().st_mtime < since - 1:
            notes.append(f"{path} was not written by this run")
        else:
            try:
                texts.append(deck_text(path))
            except (PackageNotFoundError, KeyError, ValueError) as exc:
                notes.append(f"{path} is not a readable .pptx: {exc}")
    return texts, notes
