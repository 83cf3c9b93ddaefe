"""The user's calibration store (`advisor calibrate`): per-device factors in <config dir>/calibration.yaml.

Its own object, apart from the catalog's facts: estimates apply it through advisor.estimate.constants.SpeedTable.

Keys are catalog GPU ids, and "cpu" for llama-bench runs with no layer on a GPU (n_gpu_layers 0); each entry holds
decode_factor, prefill_factor, rows, source and date.

Writing (save_local_calibration) never loses what is there:
- one writer at a time: an exclusive lock (fcntl.flock) on <path>.lock, the file itself never locked or deleted;
  where fcntl is missing, msvcrt.locking on Windows, else no lock at all (the atomic replace below still leaves a
  whole file; two writers at the same moment may then keep only one of their devices);
- a merge, not an overwrite: the store is re-read under the lock and only this device's entry is replaced, every
  other entry keeps its factors and its date;
- atomic: the new text goes to a temporary file in the same folder, is fsynced, and os.replace puts it in place; a
  process killed mid-write, or a full disk, leaves the previous file as it was (and its stale temporary file is
  removed by the next writer). A write that fails is a StoreWriteError: one line, exit code 1 (docs/json.md).
- checked: an entry is written only if the loader accepts it (the same check on both sides).

Reading (load_local_calibration) never blocks a command: a store that cannot be read or holds a value the loader
rejects is reported on stderr once and set aside as <path>.broken-<timestamp>; estimates go on uncalibrated.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError, CatalogError, ExitCode
from advisor.paths import config_dir
from advisor.readfile import read_bytes
from advisor.specs.measured import LocalCalibration
from advisor.text import safe

CPU_DEVICE = "cpu"  # the store's key for llama-bench runs with n_gpu_layers 0
FACTOR_RANGE = (0.05, 20.0)  # measured / estimated; outside it the match (model, file type, device) is wrong
MAX_ROWS = 10_000_000
MAX_STORE_BYTES = 1 << 20
_HEADER = "# Written by `advisor calibrate`: your own llama-bench results, as factors on estimates.\n"
_KEYS = ("decode_factor", "prefill_factor", "rows", "source", "date")


class StoreWriteError(AdvisorError):
    """The calibration store could not be written (a full disk, no permission); the previous file is unchanged."""

    exit_code = ExitCode.ERROR
    kind = "io"


class StoreInvalid(ValueError):
    """A store entry the loader rejects; the message names the device and the field."""


def calibration_path() -> Path:
    return config_dir() / "calibration.yaml"


def _stderr(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(safe(message) + "\n")
        sys.stderr.flush()


# -- checks: the same on save and on load ------------------------------------------------------------------------


def check_factor(name: str, value: object) -> float | None:
    """A factor: None, or a finite number within FACTOR_RANGE; StoreInvalid naming it otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"{name} {value!r} is not a number"
        raise StoreInvalid(msg)
    low, high = FACTOR_RANGE
    if not math.isfinite(value) or not low <= value <= high:
        msg = f"{name} {value!r} is not a finite number within {low:g}..{high:g}"
        raise StoreInvalid(msg)
    return float(value)


def check_source(value: object) -> str:
    """The results file's name as stored: printable text with something other than spaces."""
    if not isinstance(value, str) or not value.strip() or not value.isprintable() or len(value) > 255:
        msg = f"source {value!r} is not a file name (printable, not blank, at most 255 characters)"
        raise StoreInvalid(msg)
    return value


def _check_entry(device: object, item: object) -> dict[str, Any]:
    """One store entry, checked field by field; StoreInvalid naming the device and field otherwise."""
    if not isinstance(device, str) or not device.strip() or not device.isprintable():
        msg = f"device {device!r} is not a device id"
        raise StoreInvalid(msg)
    if not isinstance(item, Mapping):
        msg = f"{device}: not a mapping"
        raise StoreInvalid(msg)
    unknown = sorted(str(k) for k in item if k not in _KEYS)
    if unknown:
        msg = f"{device}: unknown field {unknown[0]!r}"
        raise StoreInvalid(msg)
    try:
        decode = check_factor("decode_factor", item.get("decode_factor"))
        prefill = check_factor("prefill_factor", item.get("prefill_factor"))
        if decode is None and prefill is None:
            msg = "neither decode_factor nor prefill_factor"
            raise StoreInvalid(msg)
        rows = item.get("rows")
        if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= MAX_ROWS:
            msg = f"rows {rows!r} is not a count within 1..{MAX_ROWS}"
            raise StoreInvalid(msg)
        source = check_source(item.get("source"))
        date = item.get("date")
        if isinstance(date, datetime.date):  # YAML reads an unquoted 2025-01-31 as a date
            date = date.isoformat()
        if date is not None and (not isinstance(date, str) or not date.isprintable() or len(date) > 64):
            msg = f"date {date!r} is not a date"
            raise StoreInvalid(msg)
    except StoreInvalid as err:
        msg = f"{device}: {err}"
        raise StoreInvalid(msg) from err
    out: dict[str, Any] = {"decode_factor": decode, "prefill_factor": prefill, "rows": rows, "source": source}
    if date is not None:
        out["date"] = date
    return out


def _parse(raw: bytes, path: Path) -> dict[str, dict[str, Any]]:
    """The store's entries, each checked; CatalogError (unreadable YAML) or StoreInvalid otherwise."""
    from advisor.catalog.files import parse_yaml

    data = parse_yaml(raw, path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        msg = "not a mapping of device -> factors"
        raise StoreInvalid(msg)
    return {str(device): _check_entry(device, item) for device, item in data.items()}


def _dump(entries: Mapping[str, Mapping[str, Any]]) -> bytes:
    import yaml

    return (_HEADER + yaml.safe_dump({k: dict(v) for k, v in entries.items()}, sort_keys=True)).encode("utf-8")


# -- reading -----------------------------------------------------------------------------------------------------


def _read_entries(path: Path) -> dict[str, dict[str, Any]]:
    """The checked entries of the store; {} when there is none; an exception saying why it cannot be used."""
    try:
        raw = read_bytes(path, MAX_STORE_BYTES)
    except FileNotFoundError:
        return {}
    return _parse(raw, path)


def _why(err: Exception, path: Path) -> str:
    """Why a store cannot be used, without repeating its path."""
    text = str(err.strerror or err) if isinstance(err, OSError) and err.strerror else str(err)
    return text.removeprefix(str(path)).lstrip(": ") or err.__class__.__name__


def _set_aside(path: Path, why: str, warn: Callable[[str], None]) -> None:
    """Rename an unusable store out of the way and say so in one line."""
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while target.exists() or target.is_symlink():
        target = path.with_name(f"{path.name}.broken-{stamp}-{n}")
        n += 1
    try:
        os.replace(path, target)
    except FileNotFoundError:  # another process set it aside first
        return
    except OSError as err:
        warn(f"advisor: warning: {path} could not be read ({why}); it could not be set aside either "
             f"({err.strerror or err}), so it is ignored")
        return
    warn(f"advisor: warning: {path} could not be read ({why}); set aside as {target}")


def _entries_or_set_aside(path: Path, warn: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Under the lock: the store's entries, or {} after setting an unusable store aside."""
    try:
        return _read_entries(path)
    except (CatalogError, StoreInvalid, OSError) as err:
        _set_aside(path, _why(err, path), warn)
        return {}


def load_local_calibration(path: Path | None = None,
                           warn: Callable[[str], None] = _stderr) -> dict[str, LocalCalibration]:
    """The user's own calibration factors per device (advisor calibrate), if any.

    Never fails: a store that cannot be used is set aside (under the writers' lock, after reading it again, so a
    store another process has just repaired is left alone) with one warning, and nothing is calibrated.
    """
    path = path or calibration_path()
    try:
        entries = _read_entries(path)
    except (CatalogError, StoreInvalid, OSError):
        try:
            with _locked(path):
                entries = _entries_or_set_aside(path, warn)
        except OSError as err:  # no lock to be had (a read-only folder): say so, go on uncalibrated
            warn(f"advisor: warning: {path} could not be read ({err.strerror or err}); it is ignored")
            return {}
    return {device: LocalCalibration(device, e["decode_factor"], e["prefill_factor"], e["rows"], e["source"])
            for device, e in entries.items()}


# -- writing -----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive lock on <path>.lock for the duration (blocks until it is free; the kernel drops it when its
    process dies, kill -9 included)."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock_fd(fd)
        yield
    finally:
        os.close(fd)  # closing releases flock and msvcrt locks alike


def _lock_fd(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for about 10 s, then OSError
        return
    try:
        import fcntl
    except ImportError:  # neither fcntl nor msvcrt: unlocked; the atomic replace still leaves a whole file
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _remove_stale_temps(path: Path) -> None:
    """Temporary files of writers that died before their rename (only writers holding the lock make them)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _write_atomically(path: Path, data: bytes) -> None:
    """data -> a temporary file in the same folder, fsync, os.replace over path; path unchanged on any failure."""
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            fchmod = getattr(os, "fchmod", None)  # not on Windows before Python 3.13
            if fchmod is not None:  # mkstemp makes 0600; keep the old file's mode
                with contextlib.suppress(OSError):
                    fchmod(fd, path.stat().st_mode & 0o777 if path.exists() else 0o644)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself, durable (POSIX; not possible on Windows)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_local_calibration(entry: LocalCalibration, date: str, path: Path | None = None,
                           warn: Callable[[str], None] = _stderr) -> Path:
    """Merge one device's factors into the store (locked, re-read, written atomically); the path written.

    StoreInvalid (a UsageError upstream) for an entry the loader would reject; StoreWriteError when the file cannot
    be written, with the previous file left as it was.
    """
    path = path or calibration_path()
    new = _check_entry(entry.device, {"decode_factor": entry.decode_factor, "prefill_factor": entry.prefill_factor,
                                      "rows": entry.rows, "source": entry.source, "date": date})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            _remove_stale_temps(path)
            current = _entries_or_set_aside(path, warn)
            current[entry.device] = new
            _write_atomically(path, _dump(current))
    except OSError as err:
        msg = f"cannot write {path} ({err.strerror or err}); the previous file is unchanged"
        raise StoreWriteError(msg) from err
    return path
