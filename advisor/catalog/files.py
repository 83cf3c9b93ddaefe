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
             "gguf_sizes_unsloth.yaml", "gguf_sizes_listing.yaml", "speed_fit.yaml", "quality.yaml", "build_steps.yaml")


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


class _Folder:
    """One catalog folder's files: their bytes, the cache key of their content, and that folder's cache file."""

    def __init__(self, folder: Path, files: list[Path]) -> None:
        self.files = files
        self.raw = {path: _read(path) for path in files}
        digest = hashlib.blake2b(__version__.encode(), digest_size=16)  # a content key, not a signature: the fast one
        for path, raw in self.raw.items():
            digest.update(f"{path}\0{len(raw)}\0".encode())
            digest.update(raw)
        self.owner = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
        self.path = cache_dir() / f"catalog-{self.owner}-{digest.hexdigest()[:32]}.json"
        self.cached: dict[Path, Any] | None = None

    def data(self) -> dict[Path, Any]:
        found = _cache_read(self.path)
        if found is not None and set(found) == {str(p) for p in self.files}:
            self.cached = {Path(p): data for p, data in found.items()}
            return self.cached
        return {path: parse_yaml(self.raw[path], path) for path in self.files}

    def remember(self, data: dict[Path, Any]) -> None:
        if self.cached is not None:
            return
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        own = re.compile(rf"^catalog-{self.owner}-[0-9a-f]{{32}}\.json$")
        for old in folder.iterdir():
            if own.match(old.name) and old.name != self.path.name:
                old.unlink(missing_ok=True)
        tmp = folder / f".{self.path.stem}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({str(p): data[p] for p in self.files}, default=str), encoding="utf-8")
        tmp.replace(self.path)


class Snapshot:
    """The catalog folders' bytes, read once, and their parsed data: from each folder's cache when that folder's
    exact content was cached after a validation, else from YAML. One cache file per folder, so the shipped catalog
    stays cached while a user edits their own folder, and two installs never evict each other."""

    def __init__(self, folders: list[tuple[Path, list[Path]]]) -> None:
        self.folders = [_Folder(folder, files) for folder, files in folders]

    @property
    def cached(self) -> bool:
        """Every folder came from the cache (so all of it passed validation before)."""
        return all(f.cached is not None for f in self.folders)

    def data(self) -> dict[Path, Any]:
        return {path: value for f in self.folders for path, value in f.data().items()}

    def remember(self, data: dict[Path, Any]) -> None:
        """Cache data the loader has validated (best effort: a read-only home or a full disk only costs speed)."""
        try:
            for f in self.folders:
                f.remember(data)
        except OSError:
            return


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
