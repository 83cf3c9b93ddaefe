"""Start-up: the code `dataclasses` generates for each class, compiled once per Python and kept in the cache folder.

Creating a dataclass compiles its __init__, __repr__, __eq__, __hash__ and (frozen) __setattr__ and __delattr__ from
source text it writes: some 320 compilations, about a tenth of `advisor recommend --json`'s start-up
(docs/architecture.md, "Start-up"). While `kept(path)` is active, each such text is compiled once and its code object
kept in one file (marshal, the format of Python's own .pyc files), keyed by the text's hash under a name that holds
this Python's bytecode magic number; a later run gets the very code `compile` would give it. A file that is missing,
unreadable, of another Python or not a mapping of code objects only costs the compilation. Only `advisor.cli` uses
it, for the one command a process runs; the file lives in the user's own cache folder beside the catalog cache.

Code from a file is code run, so the file is read only when it and its folder belong to the user running advisor and
no one else may write to them (as ssh treats its keys; a cache folder pointed at a shared place is ignored), and it
is written readable by its owner alone. Where ownership cannot be checked (no POSIX user ids) nothing is kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import marshal
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import CodeType
from typing import Any

from advisor import __version__

MAGIC = importlib.util.MAGIC_NUMBER.hex()


MAX_KEPT = 4096  # generated texts kept at most (one version of advisor uses about 450); past it, this run's only


def cache_file(folder: Path) -> Path:
    """This Python's and this advisor's file of kept code in `folder` (another version never reads it)."""
    return folder / f"dataclass-code-{MAGIC}-{__version__}.marshal"


@contextmanager
def kept(folder: Path) -> Iterator[None]:
    """Inside: dataclasses compile each generated text once per Python; on leaving, new code is saved (best effort)."""
    path = cache_file(folder)
    codes = _load(path)
    before = len(codes)
    used: set[bytes] = set()
    original = getattr(dataclasses, "exec", None)

    def cached_exec(source: Any, globals_: Any = None, locals_: Any = None) -> None:
        if isinstance(source, str):
            key = hashlib.blake2b(source.encode(), digest_size=16).digest()
            code = codes.get(key)
            if code is None:
                code = codes[key] = compile(source, "<string>", "exec")
            used.add(key)
            source = code
        exec(source, globals_, locals_)  # the text dataclasses wrote, or the code compiled from it

    dataclasses.exec = cached_exec  # type: ignore[attr-defined]  # dataclasses calls its global `exec`
    try:
        yield
    finally:
        if original is None:
            del dataclasses.exec  # type: ignore[attr-defined]
        else:
            dataclasses.exec = original  # type: ignore[attr-defined]
        if len(codes) > before:
            _save(path, codes if len(codes) <= MAX_KEPT else {k: v for k, v in codes.items() if k in used})


def _private(path: Path) -> bool:
    """`path` exists, is a regular file, and it and its folder are the current user's and writable by no one else."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return False
    try:
        stats = (path.lstat(), path.parent.stat())
    except OSError:
        return False
    regular = stat.S_ISREG(stats[0].st_mode)
    return regular and all(s.st_uid == getuid() and not s.st_mode & (stat.S_IWGRP | stat.S_IWOTH) for s in stats)


def _load(path: Path) -> dict[bytes, CodeType]:
    if not _private(path):
        return {}
    try:
        with path.open("rb") as f:
            found = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(found, dict) or not all(
            isinstance(k, bytes) and isinstance(v, CodeType) for k, v in found.items()):
        return {}
    return found


def _save(path: Path, codes: dict[bytes, CodeType]) -> None:
    if not hasattr(os, "getuid"):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(marshal.dumps(codes))
        tmp.replace(path)
        for old in path.parent.glob(f"dataclass-code-{MAGIC}-*.marshal"):  # earlier versions of advisor
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        return
