"""Build a PowerPoint deck (python-pptx) from slide specs (``_outline``)."""

from __future__ import annotations

import io
from typing import cast

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.dml import MSO_LINE_DASH_STYLE
from pptx.enum.shapes import MSO_SHAPE
from pptx.presentation import Presentation as PptxPresentation
from pptx.shapes.placeholder import SlidePlaceholder
from pptx.slide import Slide
from pptx.text.text import TextFrame
from pptx.util import Emu, Inches, Length, Pt

from ._outline import SlideSpec, clean

_WIDTH, _HEIGHT = Emu(12_192_000), Emu(6_858_000)  # 16:9, 13.333 x 7.5 in
_MARGIN = Inches(0.6)
_IMAGE_BOX_WIDTH = Inches(3.9)
_FULL_WIDTH = Emu(_WIDTH - 2 * _MARGIN)


def _bullet_size(count: int) -> Pt:
    return Pt(24) if count <= 5 else Pt(20) if count <= 8 else Pt(16)


def _set_size(frame: TextFrame, size: Length) -> None:
    for paragraph in frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = size


def _notes_text(spec: SlideSpec) -> str:
    parts = [clean(spec.notes)]
    if clean(spec.image_suggestion):
        parts.append(f"Image suggestion: {clean(spec.image_suggestion)}")
    return "\n\n".join(p for p in parts if p)


def _placeholder(slide: Slide, idx: int) -> SlidePlaceholder:
    return cast(SlidePlaceholder, slide.placeholders[idx])


def _box(shape: SlidePlaceholder, left: Length, top: Length, width: Length, height: Length) -> None:
    shape.left, shape.top, shape.width, shape.height = left, top, width, height


def _add_image_box(slide: Slide, suggestion: str) -> None:
    """A dashed placeholder box on the right that tells the author which picture belongs there."""
    left = Emu(_WIDTH - _MARGIN - _IMAGE_BOX_WIDTH)
    box = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, left, Inches(1.7), _IMAGE_BOX_WIDTH, Inches(3.2))
    box.name = "Image suggestion"
    box.fill.solid()
    box.fill.fore_color.rgb = RGBColor(0xF2, 0xF2, 0xF2)
    box.line.color.rgb = RGBColor(0x8C, 0x8C, 0x8C)
    box.line.dash_style = MSO_LINE_DASH_STYLE.DASH
    frame = box.text_frame
    frame.word_wrap = True
    frame.text = f"Image suggestion: {suggestion}"
    for paragraph in frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = Pt(14)
            run.font.italic = True
            run.font.color.rgb = RGBColor(0x40, 0x40, 0x40)


def _add_content_slide(prs: PptxPresentation, spec: SlideSpec) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    title, body = _placeholder(slide, 0), _placeholder(slide, 1)
    _box(title, _MARGIN, Inches(0.4), _FULL_WIDTH, Inches(1.1))
    title.text_frame.text = clean(spec.title)
    title.text_frame.word_wrap = True
    # The template's 44pt title overflows this box on two lines; sizes are set on runs, which all viewers honour.
    _set_size(title.text_frame, Pt(32) if len(spec.title) <= 60 else Pt(24))
    suggestion = clean(spec.image_suggestion)
    body_width = Emu(_FULL_WIDTH - _IMAGE_BOX_WIDTH - Inches(0.3)) if suggestion else _FULL_WIDTH
    _box(body, _MARGIN, Inches(1.7), body_width, Inches(5.2))
    bullets = [b for b in (clean(b) for b in spec.bullets) if b]
    if bullets:
        frame = body.text_frame
        frame.word_wrap = True
        for i, bullet in enumerate(bullets):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.text = bullet
        _set_size(frame, _bullet_size(len(bullets)))
    else:
        body.element.getparent().remove(body.element)  # no empty "Click to add text" box
    if suggestion:
        _add_image_box(slide, suggestion)
    notes = _notes_text(spec)
    if notes:
        frame = slide.notes_slide.notes_text_frame
        if frame is None:  # python-pptx's default template always has one
            raise RuntimeError("the slide template has no notes placeholder")
        frame.text = notes


def build_pptx(title: str, slides: list[SlideSpec], subtitle: str | None = None) -> bytes:
    """The deck as .pptx bytes: a title slide, then one slide per spec."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = _WIDTH, _HEIGHT
    prs.core_properties.title = clean(title)
    prs.core_properties.author = "echelon slides worker"
    cover = prs.slides.add_slide(prs.slide_layouts[0])
    cover_title, cover_sub = _placeholder(cover, 0), _placeholder(cover, 1)
    _box(cover_title, _MARGIN, Inches(2.2), _FULL_WIDTH, Inches(1.6))
    cover_title.text_frame.text = clean(title)
    _box(cover_sub, _MARGIN, Inches(4.0), _FULL_WIDTH, Inches(1.2))
    if subtitle and clean(subtitle):
        cover_sub.text_frame.text = clean(subtitle)
    else:
        cover_sub.element.getparent().remove(cover_sub.element)
    for spec in slides:
        _add_content_slide(prs, spec)
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()
