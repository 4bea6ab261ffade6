"""Fixtures for the model-file tests: a tiny fake model, its fake package index, and a scratch cache dir."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from echelon.servers.core.llm._model_files import KnownModel

from ._fake_index import PART_SIZE, PARTS, PREFIX, VERSION, FakeIndex, fake_index, serving


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
    with serving(fake_index(content)) as fake:
        yield fake
