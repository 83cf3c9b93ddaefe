"""What advisor keeps of a Hub repo: its files and sizes, config.json, and the headers of its weight files (tensor
names, types, element counts and bytes), never the weights. Stored as JSON under advisor's cache folder, keyed by
the repo, with the commit it was read at, so a repo fetched once works offline."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from advisor.models.gguf_read import GgufTensor
from advisor.paths import cache_dir

FORMAT: Final = 1
MAX_CACHE_BYTES: Final = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class GgufQuant:
    """One GGUF file type in a repo: its file(s) (split parts in order), the first part's metadata, all tensors."""

    quant: str
    files: tuple[str, ...]
    metadata: dict[str, Any]
    tensors: tuple[GgufTensor, ...]


@dataclass(frozen=True, slots=True)
class HubRepo:
    repo_id: str
    sha: str | None
    files: tuple[tuple[str, int | None], ...]  # (path in the repo, bytes)
    config: dict[str, Any] | None
    safetensors: tuple[GgufTensor, ...]  # every tensor of the repo's model safetensors files
    gguf: tuple[GgufQuant, ...]
    library: str | None = None  # the Hub's library_name (mlx, transformers, gguf ...)
    fetched: str = ""  # when it was read from the Hub (UTC, ISO 8601)


def cache_path(repo_id: str) -> Path:
    org, name = repo_id.split("/", 1)
    return cache_dir() / "hub" / org / f"{name}.json"


def to_json(repo: HubRepo) -> dict[str, Any]:
    return {"format": FORMAT, "repo_id": repo.repo_id, "sha": repo.sha, "library": repo.library,
            "fetched": repo.fetched, "files": [list(f) for f in repo.files], "config": repo.config,
            "safetensors": [_tensor_row(t) for t in repo.safetensors],
            "gguf": [{"quant": q.quant, "files": list(q.files), "metadata": q.metadata,
                      "tensors": [_tensor_row(t) for t in q.tensors]} for q in repo.gguf]}


def from_json(data: Any) -> HubRepo | None:
    """The repo stored in a cache file, or None when the file is of another format or damaged."""
    try:
        if data.get("format") != FORMAT:
            return None
        return HubRepo(repo_id=str(data["repo_id"]), sha=data.get("sha"),
                       files=tuple((str(p), None if s is None else int(s)) for p, s in data["files"]),
                       config=data.get("config"), safetensors=tuple(_tensor(r) for r in data["safetensors"]),
                       gguf=tuple(GgufQuant(str(q["quant"]), tuple(q["files"]), dict(q["metadata"]),
                                            tuple(_tensor(r) for r in q["tensors"])) for q in data["gguf"]),
                       library=data.get("library"), fetched=str(data.get("fetched") or ""))
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _tensor_row(t: GgufTensor) -> list[Any]:
    return [t.name, t.type_name, t.n_elements, t.n_bytes]


def _tensor(row: Any) -> GgufTensor:
    name, type_name, elements, n_bytes = row
    return GgufTensor(str(name), str(type_name), int(elements), int(n_bytes))


def load_cached(repo_id: str) -> HubRepo | None:
    """The cached copy of a repo, or None (never cached, unreadable, or of an older format)."""
    path = cache_path(repo_id)
    try:
        if path.stat().st_size > MAX_CACHE_BYTES:
            return None
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def store(repo: HubRepo) -> None:
    """Write the cache file atomically; a cache that cannot be written only costs a fetch next time."""
    path = cache_path(repo.repo_id)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(to_json(repo), handle, separators=(",", ":"))
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
