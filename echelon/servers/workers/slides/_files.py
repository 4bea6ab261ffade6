"""Safe output file names: bare names only, inside the output directory, never overwriting a file."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

MAX_NAME_LENGTH = 150
MAX_SUFFIX_TRIES = 1000
_FORBIDDEN = set('<>:"|?*')


class FilenameError(ValueError):
    """A requested file name that is not a plain name for a file in the output directory."""


def check_filename(filename: str, suffix: str) -> str:
    """``filename`` as a bare file name ending in ``suffix``, or FilenameError saying what is wrong."""
    name = filename.strip()
    if not name:
        raise FilenameError("filename is empty; give a bare name such as 'q3-review.pptx' or leave it out")
    if (
        PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).is_absolute()
        or PureWindowsPath(name).drive
    ):
        raise FilenameError(
            f"filename {filename!r} is an absolute path; give a bare name such as 'q3-review.pptx'"
        )
    if "/" in name or "\\" in name:
        raise FilenameError(
            f"filename {filename!r} contains a directory separator; files are always written to the output "
            "directory, so give a bare name such as 'q3-review.pptx'"
        )
    if ".." in name:
        raise FilenameError(f"filename {filename!r} contains '..'; give a bare name such as 'q3-review.pptx'")
    if name.startswith("."):
        raise FilenameError(f"filename {filename!r} starts with '.'; hidden files are not written")
    bad = sorted({c for c in name if c in _FORBIDDEN or unicodedata.category(c) == "Cc"})
    if bad:
        raise FilenameError(f"filename {filename!r} contains characters that are not allowed: {bad!r}")
    if not name.lower().endswith(suffix):
        name += suffix
    if len(name) > MAX_NAME_LENGTH:
        raise FilenameError(f"filename is {len(name)} characters long; keep it under {MAX_NAME_LENGTH}")
    return name


def slugify(text: str, fallback: str = "deck") -> str:
    """A short ASCII file-name stem from free text ("Q3 Review: Sales!" -> "q3-review-sales")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].rstrip("-")
    return slug or fallback


def write_new(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``directory/name``, or ``stem-2``, ``stem-3``... when taken. Never overwrites.

    Names are claimed with an exclusive create, so concurrent writers never pick the same file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    root = directory.resolve()
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, MAX_SUFFIX_TRIES + 1):
        path = root / (name if n == 1 else f"{stem}-{n}{suffix}")
        if path.parent != root:  # defence in depth: check_filename already refused separators
            raise FilenameError(f"{name!r} would be written outside the output directory")
        try:
            handle = path.open("xb")
        except FileExistsError:
            continue
        try:
            with handle:
                handle.write(data)
        except BaseException:
            path.unlink(missing_ok=True)  # ours: created by the exclusive open above
            raise
        return path
    raise FilenameError(
        f"{MAX_SUFFIX_TRIES} files named like {name!r} exist already; choose another filename"
    )
