"""``echelon ui`` and ``echelon trace RUN --html``: every run as a page, live while it executes.

The page (``static/``: plain HTML, CSS and JS, no library, nothing fetched from elsewhere) shows the plan as a
graph (phases laid out by dependency depth, the steps and tool calls inside each finished phase), a timeline, the
progress messages, and each node's inputs, output, tool calls, tokens and errors. Live, it polls the app's JSON
every second; as a snapshot, the run is embedded in the file.
"""

from ._app import UiError, bind, build_app, serve
from ._page import page_html, write_html

__all__ = ["UiError", "bind", "build_app", "page_html", "serve", "write_html"]
