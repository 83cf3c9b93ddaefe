"""Read catalog YAML files, with a JSON cache of the parsed data of catalogs that passed validation.

YAML parsing is most of `advisor`'s start-up. The cache holds only plain parsed data (JSON, never pickle), is keyed
by the files' paths and contents (an edit that keeps size and mtime still misses), and is written only after the
loader validated that data (advisor.catalog.load), so a catalog that fails validation fails every time. Each install
(catalog folder) has its own cache file, so two installs never evict each other, and the cache deletes only files
of its own naming for its own install.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from advisor import __version__
from advisor.errors import CatalogError
from advisor.paths import cache_dir
from advisor.readfile import FileRefused, read_bytes

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


def user_files(folder: Path) -> list[Path]:
    """Every YAML file under a user catalog folder (two levels), read or not: to report the ones not read."""
    return sorted(p for pattern in ("*.yaml", "*.yml", "*/*.yaml", "*/*.yml") for p in folder.glob(pattern))


class Snapshot:
    """The catalog files' bytes, read once: the cache key, and the parsed data from the cache or from YAML."""

    def __init__(self, files: list[Path], install: Path) -> None:
        self.files = files
        self.raw = {path: _read(path) for path in files}
        digest = hashlib.sha256(__version__.encode())
        for path, raw in self.raw.items():
            digest.update(f"{path}\0{len(raw)}\0".encode())
            digest.update(raw)
        self.install = hashlib.sha256(str(install.resolve()).encode()).hexdigest()[:12]
        self.key = digest.hexdigest()[:32]
        self.cached = False

    def data(self) -> dict[Path, Any]:
        """Parsed YAML of every file, from the cache when this exact content was cached after validation."""
        cached = _cache_read(self._path())
        if cached is not None and set(cached) == {str(p) for p in self.files}:
            self.cached = True
            return {Path(p): data for p, data in cached.items()}
        return {path: parse_yaml(self.raw[path], path) for path in self.files}

    def remember(self, data: dict[Path, Any]) -> None:
        """Cache data the loader has validated (best effort: a read-only home or a full disk only costs speed)."""
        if self.cached:
            return
        folder = cache_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            own = re.compile(rf"^catalog-{self.install}-[0-9a-f]{{32}}\.json$")
            for old in folder.iterdir():
                if own.match(old.name) and old.name != self._path().name:
                    old.unlink(missing_ok=True)
            tmp = folder / f".catalog-{self.install}-{self.key}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps({str(p): d for p, d in data.items()}, default=str), encoding="utf-8")
            tmp.replace(self._path())
        except OSError:
            return

    def _path(self) -> Path:
        return cache_dir() / f"catalog-{self.install}-{self.key}.json"


def _read(path: Path) -> bytes:
    try:
        return read_bytes(path, MAX_FILE_BYTES)
    except OSError as err:
        msg = str(err) if isinstance(err, FileRefused) else f"{path}: cannot read ({err.strerror or err})"
        raise CatalogError(msg) from err


def _cache_read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(read_bytes(path, 8 * MAX_FILE_BYTES))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_yaml(path: Path) -> Any:
    """One YAML file the user named (a regular file, at most MAX_FILE_BYTES), parsed without aliases."""
    return parse_yaml(_read(path), path)


def parse_yaml(raw: bytes, path: Path) -> Any:
    import yaml

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        msg = f"{path}: not UTF-8 text"
        raise CatalogError(msg) from err
    # the C-accelerated safe loader when PyYAML was built with libyaml; both construct only plain data
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _refuse_aliases(text, loader, path)
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        msg = f"{path}{where}: not valid YAML: {getattr(err, 'problem', None) or err}"
        raise CatalogError(msg) from err


def _refuse_aliases(text: str, loader: Any, path: Path) -> None:
    """Anchors and aliases let ten lines expand to gigabytes; catalog files never need them."""
    import yaml

    if "&" not in text and "*" not in text:
        return
    for token in yaml.scan(text, Loader=loader):
        if isinstance(token, yaml.AliasToken | yaml.AnchorToken):
            mark = token.start_mark
            msg = (f"{path} (line {mark.line + 1}, column {mark.column + 1}): YAML anchors and aliases are not "
                   "allowed in catalog files")
            raise CatalogError(msg)
