"""The run page: one HTML document with its CSS and JS inlined, live (no data) or a snapshot (a run embedded).

The same file serves ``echelon ui`` and ``echelon trace RUN --html``, so a shared snapshot looks exactly like the
live view. The page's Content-Security-Policy allows only its own inline script and style (by hash) and, live,
requests to the server it came from: run records hold model and tool output, which the script shows as text.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from importlib import resources
from pathlib import Path
from typing import Any

from echelon.servers.core.runs._reader import RunView

_MARKER = re.compile(r"<!--@(csp|css|js|data)-->")


def _static(name: str) -> str:
    return (resources.files("echelon.clients.ui") / "static" / name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def script_json(value: Any) -> str:
    """``value`` as JSON that cannot end the ``<script>`` element it sits in."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


def csp(*, connect: bool) -> str:
    """The page's policy: its own script and style only; live pages may also fetch from their server."""
    js, css = _static("page.js"), _static("page.css")
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {_sha256(js)}",
            f"style-src {_sha256(css)}",
            "img-src data:",
            "connect-src 'self'" if connect else "connect-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def page_html(view: RunView | None = None, *, exported_at: float | None = None) -> str:
    """The page; with ``view``, a snapshot of that run that needs no server."""
    data = "null"
    if view is not None:
        data = script_json({"exported_at": exported_at or time.time(), "view": view.model_dump(mode="json")})
    parts = {
        "csp": csp(connect=view is None),
        "css": _static("page.css"),
        "js": _static("page.js"),
        "data": data,
    }
    return _MARKER.sub(lambda m: parts[m.group(1)], _static("page.html"))


def write_html(view: RunView, path: Path) -> Path:
    """Write the snapshot of ``view`` to ``path``, readable by its owner only (it holds requests and data)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # also when the file was there before with a wider mode
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(page_html(view))
    return path
