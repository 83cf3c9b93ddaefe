"""A remote file read forward in blocks by HTTP Range requests: what the streaming GGUF header reader needs
(read, and seek relative to the current position), so only the header's bytes cross the network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

FIRST_BYTES: Final = 1024 * 1024  # a split GGUF's later parts have headers of a few KiB: one small request
BLOCK_BYTES: Final = 4 * 1024 * 1024  # a first part's header is mostly its vocabulary, a few MiB
MAX_HEADER_BYTES: Final = 96 * 1024 * 1024  # past this it is no header: stop before downloading the weights


class TooFar(ValueError):
    """A read went past MAX_HEADER_BYTES."""


class RangeFile:
    """read() and seek(n, 1) over `fetch(start, end)` (inclusive byte range -> bytes, fewer at the file's end)."""

    def __init__(self, fetch: Callable[[int, int], bytes], block_bytes: int = BLOCK_BYTES,
                 first_bytes: int = FIRST_BYTES) -> None:
        self.fetch = fetch
        self.block_bytes = block_bytes
        self.first_bytes = first_bytes
        self.pos = 0
        self.start = 0  # file offset of self.block[0]
        self.block = b""
        self.fetched_bytes = 0
        self.size: int | None = None  # known once a fetch comes back short: the file ends there

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            raise ValueError("a remote header is read in bounded pieces")
        end = self.pos + n
        if end > MAX_HEADER_BYTES:
            raise TooFar(f"the header runs past {MAX_HEADER_BYTES // (1024 * 1024)} MiB")
        if self.size is not None:
            end = min(end, self.size)
        if not (self.start <= self.pos and end <= self.start + len(self.block)):
            size = max(n, self.block_bytes if self.fetched_bytes else self.first_bytes)
            self.block = self.fetch(self.pos, self.pos + size - 1)
            self.fetched_bytes += len(self.block)
            self.start = self.pos
            if len(self.block) < size:
                self.size = self.pos + len(self.block)
        data = self.block[self.pos - self.start:end - self.start]
        self.pos += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset
        return self.pos
