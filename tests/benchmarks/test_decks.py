import os
import time
from pathlib import Path

from pptx import Presentation
from pptx.shapes.autoshape import Shape
from pptx.util import Inches

from benchmarks._decks import deck_text, decks_made


def make_deck(path: Path) -> Path:
    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    title, body = slide.placeholders[0], slide.placeholders[1]
    assert isinstance(title, Shape) and isinstance(body, Shape)
    title.text_frame.text = "Revenue by year"
    body.text_frame.text = "2025: $2,561,618"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(4), Inches(1)).table
    table.cell(1, 1).text = "Mountain West"
    notes = slide.notes_slide.notes_text_frame
    assert notes is not None
    notes.text = "Growth was 7.5%"
    prs.save(str(path))
    return path


def test_deck_text_reads_titles_bullets_tables_and_notes(tmp_path: Path) -> None:
    text = deck_text(make_deck(tmp_path / "d.pptx"))
    for part in ("Revenue by year", "2025: $2,561,618", "Mountain West", "Growth was 7.5%"):
        assert part in text


def test_only_decks_written_during_the_run_count(tmp_path: Path) -> None:
    old = make_deck(tmp_path / "old.pptx")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    new = make_deck(tmp_path / "new.pptx")
    (tmp_path / "notes.md").write_text("not a deck")
    texts, notes = decks_made(
        [str(old), str(new), str(tmp_path / "gone.pptx"), str(tmp_path / "notes.md")], time.time() - 60
    )
    assert len(texts) == 1 and "Revenue by year" in texts[0]
    assert any("old.pptx was not written by this run" in n for n in notes)
    assert any("gone.pptx does not exist" in n for n in notes)
