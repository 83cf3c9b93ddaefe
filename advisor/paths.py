"""Where advisor keeps the user's files: the config folder (user catalog, calibration) and the cache folder."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    """$ADVISOR_CONFIG_DIR, else $XDG_CONFIG_HOME/advisor, else ~/.config/advisor."""
    base = os.environ.get("ADVISOR_CONFIG_DIR")
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "advisor"


def cache_dir() -> Path:
    """$ADVISOR_CACHE_DIR, else $XDG_CACHE_HOME/advisor, else ~/.cache/advisor."""
    base = os.environ.get("ADVISOR_CACHE_DIR")
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "advisor"
