"""A GGUF header, read as a stream: metadata and tensor descriptions, never the tensor data. Pure over a binary file.

The header holds every key-value pair, then every tensor's name, shape and type. A tokenizer's vocabulary (arrays of
hundreds of thousands of strings) sits in the middle: it is walked by its length prefixes, not decoded, and only its
length is kept. Every count and length is bounded, so a corrupt or hostile file fails in bounded time and memory.
Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import IO, Any, Final

MAX_KEY_BYTES: Final = 65_536
MAX_STRING_BYTES: Final = 16 * 1024 * 1024  # a chat template is tens of KiB
MAX_ARRAY_ITEMS: Final = 100_000_000
KEEP_ARRAY_ITEMS: Final = 4096  # longer arrays (vocabularies, merges) keep only their length
MAX_DIMS: Final = 8
CHUNK: Final = 1 << 20

# GGUF value types: struct format of the scalar ones
_SCALARS: Final = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
                   12: "<d"}
_STRING, _ARRAY = 8, 9


class HeaderError(ValueError):
    """The header is not what GGUF allows; the message says where."""


class _Cursor:
    """Buffered reads from a binary file with a running offset (for messages)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.buffer = b""
        self.pos = 0
        self.offset = 0  # file offset of buffer[0]

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.buffer):
            rest = self.buffer[self.pos:]
            more = self.handle.read(max(CHUNK, n - len(rest)))
            self.offset += self.pos
            self.buffer, self.pos = rest + more, 0
            if len(self.buffer) < n:
                raise HeaderError(f"truncated at byte {self.offset + len(self.buffer)}")
        data = self.buffer[self.pos:self.pos + n]
        self.pos += n
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def skip(self, n: int) -> None:
        if self.pos + n <= len(self.buffer):
            self.pos += n
            return
        beyond = n - (len(self.buffer) - self.pos)
        self.offset += len(self.buffer)
        self.buffer, self.pos = b"", 0
        self.handle.seek(beyond, 1)
        self.offset += beyond

    def string(self, limit: int) -> str:
        length = self.unpack("<Q")
        if length > limit:
            raise HeaderError(f"a string of {length} bytes at byte {self.offset + self.pos} (at most {limit})")
        return self.take(length).decode("utf-8", errors="replace")


def read_header(handle: IO[bytes], type_sizes: Callable[[int], tuple[str, int, int]]) -> tuple[
        dict[str, Any], list[tuple[str, str, int, int]]]:
    """(metadata, tensors) of a GGUF stream positioned at its start; tensors as (name, type, elements, bytes).

    type_sizes(type id) -> (type name, block size, bytes per block), or raises HeaderError for an unknown type.
    """
    c = _Cursor(handle)
    if c.take(4) != b"GGUF":
        raise HeaderError("no GGUF magic at the start")
    version, n_tensors, n_kv = c.unpack("<I"), c.unpack("<Q"), c.unpack("<Q")
    if version not in (2, 3):
        raise HeaderError(f"unsupported GGUF version {version}")
    metadata = {}
    for _ in range(n_kv):
        key = c.string(MAX_KEY_BYTES)
        metadata[key] = _value(c, c.unpack("<I"), depth=0)
    return metadata, [_tensor(c, type_sizes) for _ in range(n_tensors)]


def _value(c: _Cursor, kind: int, depth: int) -> Any:
    fmt = _SCALARS.get(kind)
    if fmt is not None:
        return c.unpack(fmt)
    if kind == _STRING:
        return c.string(MAX_STRING_BYTES)
    if kind != _ARRAY or depth > 1:
        raise HeaderError(f"unknown value type {kind} at byte {c.offset + c.pos}")
    item, count = c.unpack("<I"), c.unpack("<Q")
    if count > MAX_ARRAY_ITEMS:
        raise HeaderError(f"an array of {count} items at byte {c.offset + c.pos}")
    if count > KEEP_ARRAY_ITEMS:
        _skip_items(c, item, count, depth)
        return count
    return [_value(c, item, depth + 1) for _ in range(count)]


def _skip_items(c: _Cursor, kind: int, count: int, depth: int) -> None:
    fmt = _SCALARS.get(kind)
    if fmt is not None:
        c.skip(struct.calcsize(fmt) * count)
    elif kind == _STRING:
        for _ in range(count):
            length = c.unpack("<Q")
            if length > MAX_STRING_BYTES:
                raise HeaderError(f"a string of {length} bytes at byte {c.offset + c.pos}")
            c.skip(length)
    else:
        for _ in range(count):
            _value(c, kind, depth + 1)


def _tensor(c: _Cursor, type_sizes: Callable[[int], tuple[str, int, int]]) -> tuple[str, str, int, int]:
    name = c.string(MAX_KEY_BYTES)
    n_dims = c.unpack("<I")
    if not 1 <= n_dims <= MAX_DIMS:
        raise HeaderError(f"tensor {name!r} has {n_dims} dimensions")
    elements = 1
    for _ in range(n_dims):
        elements *= c.unpack("<Q")
    type_name, block, block_bytes = type_sizes(c.unpack("<I"))
    c.skip(8)  # data offset
    if elements % block:
        raise HeaderError(f"tensor {name!r}: {elements} elements is not a whole number of {type_name} blocks")
    return name, type_name, elements, elements // block * block_bytes
