"""Read a local GGUF file's header with the `gguf` package (llama.cpp's own reader), safely.

The only module that opens GGUF files. A cheap check of the fixed header (magic, version, counts) runs first, so
a file that is not GGUF, is truncated, or claims absurd counts gives one clear error in bounded time and memory.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import UsageError

MAX_TENSORS = 100_000
MAX_KV = 100_000
_SPLIT = re.compile(r"^(.*)-(\d{5})-of-(\d{5})\.gguf$")


class GgufError(UsageError):
    kind = "bad_gguf"


@dataclass(frozen=True, slots=True)
class GgufTensor:
    name: str
    type_name: str
    n_elements: int
    n_bytes: int


@dataclass(frozen=True, slots=True)
class GgufFile:
    paths: tuple[Path, ...]
    metadata: dict[str, Any]  # scalar and short-list fields only
    tensors: tuple[GgufTensor, ...]
    file_type: str | None  # e.g. Q4_K_M, from general.file_type


def split_parts(path: Path) -> tuple[Path, ...]:
    """All parts of a split GGUF (name-00001-of-00003.gguf), or just the file."""
    match = _SPLIT.match(path.name)
    if not match:
        return (path,)
    total = int(match.group(3))
    parts = tuple(path.with_name(f"{match.group(1)}-{i:05d}-of-{total:05d}.gguf") for i in range(1, total + 1))
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise GgufError(f"{path}: split GGUF is missing {', '.join(missing)}")
    return parts


def check_header(path: Path) -> None:
    """Magic, version and counts of the fixed 24-byte header, before any real parsing."""
    try:
        with path.open("rb") as handle:
            head = handle.read(24)
    except OSError as err:
        raise GgufError(f"cannot read {path} ({err.strerror or err})") from err
    if len(head) < 24 or head[:4] != b"GGUF":
        raise GgufError(f"{path}: not a GGUF file (no GGUF magic at the start)")
    version, tensors, kvs = struct.unpack("<IQQ", head[4:24])
    if version not in (2, 3):
        raise GgufError(f"{path}: unsupported GGUF version {version}")
    if tensors > MAX_TENSORS or kvs > MAX_KV:
        raise GgufError(f"{path}: header claims {tensors} tensors and {kvs} metadata keys; the file is corrupt")


def read_gguf(path: Path) -> GgufFile:
    """Metadata and tensor sizes of a GGUF file (all parts of a split one)."""
    parts = split_parts(path)
    metadata: dict[str, Any] = {}
    tensors: list[GgufTensor] = []
    for index, part in enumerate(parts):
        check_header(part)
        fields, part_tensors = _parse(part)
        if index == 0:
            metadata = fields
        tensors += part_tensors
    file_type = metadata.get("general.file_type")
    return GgufFile(parts, metadata, tuple(tensors), _file_type(file_type))


def _parse(path: Path) -> tuple[dict[str, Any], list[GgufTensor]]:
    try:
        import gguf
    except ImportError as err:
        msg = "reading GGUF files needs the gguf package: pip install 'advisor[gguf]'"
        raise GgufError(msg) from err
    try:
        reader = gguf.GGUFReader(str(path))
        fields = {name: _value(field) for name, field in reader.fields.items()}
        tensors = [GgufTensor(t.name, t.tensor_type.name, int(t.n_elements), int(t.n_bytes)) for t in reader.tensors]
    except Exception as err:  # the reader raises many kinds on corrupt input; all mean the same to a user
        raise GgufError(f"{path}: not a valid GGUF file ({type(err).__name__}: {err})") from err
    return fields, tensors


def _value(field: Any) -> Any:
    """A field's value, keeping only what the estimators need (long token lists become their length)."""
    try:
        contents = field.contents()
    except Exception:
        return None
    if isinstance(contents, list) and len(contents) > 4096:
        return len(contents)
    return contents


def _file_type(value: Any) -> str | None:
    if not isinstance(value, int):
        return None
    try:
        import gguf

        return str(gguf.LlamaFileType(value).name).removeprefix("MOSTLY_").replace("MXFP4_MOE", "MXFP4")
    except (ImportError, ValueError):
        return None
