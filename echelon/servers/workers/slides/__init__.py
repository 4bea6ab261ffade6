"""Slides worker: builds PowerPoint (.pptx) decks with python-pptx, or Markdown outlines of them."""
