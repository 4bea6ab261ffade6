"""Where echelon keeps its files on this machine. Import-light: the demo data generator uses it too."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """echelon's data directory: ``$ECHELON_DATA_DIR`` if set, else the user data dir of ``echelon``
    (``~/.local/share/echelon`` on Linux). A config names it as ``${ECHELON_DATA_DIR}``."""
    override = os.environ.get("ECHELON_DATA_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("echelon", appauthor=False))


def state_dir() -> Path:
    """echelon's state directory (run records): ``$ECHELON_STATE_DIR`` if set, else the user state dir of
    ``echelon`` (``~/.local/state/echelon`` on Linux)."""
    override = os.environ.get("ECHELON_STATE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_state_dir

    return Path(user_state_dir("echelon", appauthor=False))
