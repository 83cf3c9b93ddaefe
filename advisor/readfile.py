"""The one way advisor reads a file the user can point it at: regular files only, at most a set number of bytes.

A FIFO would block forever and /dev/zero never ends; `st_size` is 0 for both, so the check is on the opened file
itself (fstat) and the read stops one byte past the limit whatever the size claims.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class FileRefused(OSError):
    """Not a regular file, or larger than allowed; the message says which."""


@contextmanager
def _regular(path: Path) -> Iterator[int]:
    """A descriptor of `path` opened without blocking (a FIFO would wait for a writer), refused unless the opened
    file itself is a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            msg = f"{path}: not a regular file"
            raise FileRefused(msg)
        yield fd
    finally:
        os.close(fd)


def read_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes; FileRefused for anything but a regular file of at most `limit` bytes."""
    chunks, size = [], 0
    with _regular(path) as fd:
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    if size > limit:
        msg = f"{path}: larger than {limit} bytes; not read"
        raise FileRefused(msg)
    return b"".join(chunks)


def read_bytes_prefix(path: Path, count: int) -> bytes:
    """The first `count` bytes of a regular file (fewer if it is shorter); FileRefused for anything else."""
    with _regular(path) as fd:
        return os.read(fd, count)


def read_json(path: Path, limit: int) -> object:
    """A JSON document of at most `limit` bytes: OSError (FileRefused) for the file, ValueError for its content
    (not UTF-8, not JSON, or nested deeper than the parser can follow)."""
    import json

    raw = read_bytes(path, limit)
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError as err:
        msg = "nested too deeply to be a config or results file"
        raise ValueError(msg) from err
