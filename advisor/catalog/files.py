"""Read catalog YAML files, with a JSON cache of the parsed data keyed on the files' sizes and mtimes.

YAML parsing is most of `advisor`'s start-up; the cache holds only plain parsed data (JSON, never pickle),
and every load still validates that data in full, so a cached catalog behaves exactly like a fresh one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from advisor import __version__
from advisor.errors import CatalogError
from advisor.paths import cache_dir

MAX_FILE_BYTES = 4 * 1024 * 1024
TOP_FILES = ("quants.yaml", "defaults.yaml", "system_memory.yaml", "scores.yaml", "gguf_sizes.yaml",
             "gguf_sizes_unsloth.yaml", "speed_fit.yaml")


def catalog_files(folder: Path) -> list[Path]:
    """The YAML files of one catalog folder, in load order."""
    files = [folder / name for name in TOP_FILES if (folder / name).is_file()]
    for sub in ("models", "gpus", "measurements"):
        if (folder / sub).is_dir():
            files += sorted((folder / sub).glob("*.yaml"))
    return files


def read_all(files: list[Path]) -> dict[Path, Any]:
    """Parsed YAML of every file, from the cache when none of them changed."""
    key = _key(files)
    cached = _cache_read(key)
    if cached is not None and set(cached) == {str(p) for p in files}:
        return {Path(p): data for p, data in cached.items()}
    data = {path: read_yaml(path) for path in files}
    _cache_write(key, {str(p): d for p, d in data.items()})
    return data


def _key(files: list[Path]) -> str:
    digest = hashlib.sha256(__version__.encode())
    for path in files:
        try:
            stat = path.stat()
        except OSError as err:
            msg = f"{path}: cannot read ({err.strerror or err})"
            raise CatalogError(msg) from err
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def _cache_read(key: str) -> dict[str, Any] | None:
    path = cache_dir() / f"catalog-{key}.json"
    try:
        if path.stat().st_size > 8 * MAX_FILE_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _cache_write(key: str, data: dict[str, Any]) -> None:
    """Best effort: a read-only home or a full disk only costs speed."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("catalog-*.json"):
            old.unlink(missing_ok=True)
        tmp = folder / f".catalog-{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
        tmp.replace(folder / f"catalog-{key}.json")
    except OSError:
        return


def read_yaml(path: Path) -> Any:
    import yaml

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            msg = f"{path}: larger than {MAX_FILE_BYTES} bytes; not read"
            raise CatalogError(msg)
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        msg = f"{path}: cannot read ({err.strerror or err})"
        raise CatalogError(msg) from err
    except UnicodeDecodeError as err:
        msg = f"{path}: not UTF-8 text"
        raise CatalogError(msg) from err
    # the C-accelerated safe loader when PyYAML was built with libyaml; both construct only plain data
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        msg = f"{path}{where}: not valid YAML: {getattr(err, 'problem', None) or err}"
        raise CatalogError(msg) from err
