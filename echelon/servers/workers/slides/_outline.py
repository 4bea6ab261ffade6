"""What a deck is made of (``SlideSpec``) and its Markdown outline: no python-pptx here, so the slides worker
declares its tools without importing it (``_deck`` loads it at the first deck)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

# XML 1.0 forbids most control characters; lxml refuses them, so they are dropped from user text.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class SlideSpec(BaseModel):
    """One content slide."""

    title: str = Field(description="Slide title", max_length=300)
    bullets: list[str] = Field(
        default_factory=list[str], description="Bullet points, in order", max_length=30
    )
    notes: str = Field(default="", description="Speaker notes")
    image_suggestion: str = Field(default="", description="An image or chart that would fit this slide")


def clean(text: str) -> str:
    return _XML_ILLEGAL.sub("", text).strip()


def render_outline(title: str, slides: list[SlideSpec], subtitle: str | None = None) -> str:
    """The deck as Markdown: the title, then one numbered section per slide with bullets, image and notes."""
    lines = [f"# {clean(title)}"]
    if subtitle and clean(subtitle):
        lines += ["", f"_{clean(subtitle)}_"]
    for number, spec in enumerate(slides, start=1):
        lines += ["", f"## {number}. {clean(spec.title)}"]
        bullets = [b for b in (clean(b) for b in spec.bullets) if b]
        if bullets:
            lines.append("")
            lines += [f"- {' '.join(b.split())}" for b in bullets]
        if clean(spec.image_suggestion):
            lines += ["", f"> Image suggestion: {' '.join(clean(spec.image_suggestion).split())}"]
        if clean(spec.notes):
            lines += ["", "Notes: " + " ".join(clean(spec.notes).split())]
    return "\n".join(lines) + "\n"
