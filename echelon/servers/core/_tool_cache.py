"""Tool lists kept on disk, so planning can read a worker's tools without starting its process.

A manager plans from its workers' tool schemas; reading them live meant starting every worker before the first
phase, also those no step uses (6x the time of one worker with 20 workers). The cache is keyed by everything
that decides what a worker serves: its entry (command, args, env, cwd or url and headers) and echelon's version.
An entry that changes is a new key; a worker that does start is listed again and the cache rewritten, and
``notifications/tools/list_changed`` drops its entry. The SDK's response cache (SEP-2549) lives inside a connected
client, so it cannot spare the start itself. Files are written 0600 (an entry's env may hold a secret; only its
hash is in the file name and nothing of it in the file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from mcp.types import Tool
from pydantic import BaseModel, ValidationError

from echelon import __version__

from .target import Target

logger = logging.getLogger(__name__)
ENV_TOOL_CACHE = "ECHELON_TOOL_CACHE_DIR"


class Listing(BaseModel):
    """What a worker offered when it last started: its tools and its instructions."""

    tools: list[Tool]
    instructions: str = ""


def default_folder() -> Path | None:
    """``$ECHELON_TOOL_CACHE_DIR`` (``off`` turns the cache off), else ``tool-lists`` in echelon's cache dir."""
    chosen = os.environ.get(ENV_TOOL_CACHE, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    from .llm._model_files import cache_dir

    return cache_dir() / "tool-lists"


class ToolListCache:
    """One JSON file per worker entry in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @staticmethod
    def key(target: Target) -> str | None:
        """The entry's cache key; None for an in-process server (nothing to spare starting)."""
        if target.server is not None:
            return None
        shape = target.model_dump(mode="json", exclude={"server", "disabled", "type"})
        digest = hashlib.sha256(json.dumps([__version__, shape], sort_keys=True).encode()).hexdigest()
        return digest[:32]

    def get(self, target: Target) -> Listing | None:
        key = self.key(target)
        if key is None:
            return None
        path = self.folder / f"{key}.json"
        try:
            return Listing.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except (
            OSError,
            ValidationError,
        ) as exc:  # a damaged file is a miss, and is rewritten on the next start
            logger.debug("ignoring the tool cache file %s: %s", path, exc)
            return None

    def put(self, target: Target, listing: Listing) -> None:
        key = self.key(target)
        if key is None:
            return
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{key}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(listing.model_dump_json(by_alias=True, exclude_none=True).encode())
            os.replace(tmp, self.folder / f"{key}.json")  # readers never see half a file
        except OSError as exc:  # the cache only saves time; a read-only cache dir must not fail a phase
            logger.debug("could not write the tool cache in %s: %s", self.folder, exc)

    def drop(self, target: Target) -> None:
        key = self.key(target)
        if key is not None:
            (self.folder / f"{key}.json").unlink(missing_ok=True)
