"""Read a local GGUF file's header, safely: the only module that opens GGUF files.

A cheap check of the fixed header (magic, version, counts) runs first, then the header is streamed
(advisor.models.gguf_header): metadata and tensor shapes only, vocabularies walked but not decoded, every count and
length bounded. The tensor types' block sizes come from the `gguf` package (llama.cpp's own constants).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import UsageError
from advisor.models.gguf_header import HeaderError, read_header
from advisor.readfile import FileRefused, read_bytes_prefix

MAX_TENSORS = 100_000
MAX_KV = 100_000
MAX_PARTS = 1000
_SPLIT = re.compile(r"^(.*)-(\d{5})-of-(\d{5})\.gguf$")


class GgufError(UsageError):
    kind = "bad_gguf"


@dataclass(frozen=True, slots=True)
class GgufTensor:
    """One tensor of a weight file's header (a GGUF's, or a Hub repo's safetensors): name, stored type, element
    count and bytes."""

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
    index, total = int(match.group(2)), int(match.group(3))
    if not 1 <= index <= total <= MAX_PARTS:
        raise GgufError(f"{path.name[:120]}: part {index} of {total} is not a split GGUF name (1 <= part <= total "
                        f"<= {MAX_PARTS})")
    parts = tuple(path.with_name(f"{match.group(1)}-{i:05d}-of-{total:05d}.gguf") for i in range(1, total + 1))
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise GgufError(f"{path.name[:120]}: split GGUF is missing {shown}")
    return parts


def check_header(path: Path) -> None:
    """Magic, version and counts of the fixed 24-byte header, before any real parsing (regular files only)."""
    try:
        head = read_bytes_prefix(path, 24)
    except OSError as err:
        raise GgufError(str(err) if isinstance(err, FileRefused) else f"cannot read {path} ({err.strerror or err})") \
            from err
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
    if not tensors:
        raise GgufError(f"{path}: the file has no tensors, so there are no weights to size")
    file_type = metadata.get("general.file_type")
    return GgufFile(parts, metadata, tuple(tensors), file_type_name(file_type))


def _parse(path: Path) -> tuple[dict[str, Any], list[GgufTensor]]:
    sizes = type_sizes()
    try:
        with path.open("rb") as handle:
            fields, found = read_header(handle, sizes)
    except HeaderError as err:
        raise GgufError(f"{path}: not a valid GGUF file ({err})") from err
    except OSError as err:
        raise GgufError(f"cannot read {path} ({err.strerror or err})") from err
    return fields, [GgufTensor(*t) for t in found]


def type_sizes() -> Callable[[int], tuple[str, int, int]]:
    try:
        import gguf
    except ImportError as err:
        msg = "reading GGUF files needs the gguf package: pip install 'advisor[gguf]'"
        raise GgufError(msg) from err

    def sizes(type_id: int) -> tuple[str, int, int]:
        try:
            kind = gguf.GGMLQuantizationType(type_id)
            block, block_bytes = gguf.GGML_QUANT_SIZES[kind]
        except (ValueError, KeyError) as err:
            raise HeaderError(f"unknown tensor type {type_id}") from err
        return str(kind.name), int(block), int(block_bytes)

    return sizes


def file_type_name(value: Any) -> str | None:
    if not isinstance(value, int):
        return None
    try:
        import gguf

        return str(gguf.LlamaFileType(value).name).removeprefix("MOSTLY_").replace("MXFP4_MOE", "MXFP4")
    except (ImportError, ValueError):
        return None
