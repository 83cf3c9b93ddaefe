"""Measure system RAM read bandwidth, quickly, with the standard library (opt-in: advisor hardware --measure-ram).

Several processes each scan their slice of one shared, pre-touched buffer with mmap.find (a vectorised memchr in
C), so the scan runs at memory speed rather than Python speed. The result (GB/s) is cached per machine shape.
"""

from __future__ import annotations

import json
import mmap
import os
import time
from pathlib import Path

from advisor.readfile import read_json

BUFFER_BYTES = 512 * 1024 * 1024  # large against any L3 cache
PASSES = 4


def _scan(buffer: mmap.mmap, start: int, end: int, passes: int) -> float:
    began = time.perf_counter()
    for _ in range(passes):
        buffer.find(b"\xff", start, end)  # never found: reads the whole slice
    return time.perf_counter() - began


def _worker(buffer: mmap.mmap, start: int, end: int, go: object, out: object) -> None:
    go.wait()  # type: ignore[attr-defined]
    out.put(_scan(buffer, start, end, PASSES))  # type: ignore[attr-defined]


def measure(workers: int | None = None, buffer_bytes: int = BUFFER_BYTES) -> float:
    """Read bandwidth in GB/s (1e9 bytes/s), summed over `workers` processes (default: physical cores, <= 16)."""
    import multiprocessing

    import psutil

    workers = max(1, min(16, workers or psutil.cpu_count(logical=False) or 1))
    buffer = mmap.mmap(-1, buffer_bytes)
    chunk = b"\x01" * (16 * 1024 * 1024)
    for offset in range(0, buffer_bytes, len(chunk)):
        buffer[offset:offset + len(chunk)] = chunk  # touch every page: untouched pages all read as one zero page
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        ctx = None
    size = buffer_bytes // workers
    if ctx is None or workers == 1:
        seconds = _scan(buffer, 0, buffer_bytes, PASSES)
    else:
        go, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(buffer, i * size, (i + 1) * size, go, out)) for i in range(workers)]
        for p in procs:
            p.start()
        go.set()
        seconds = max(out.get(timeout=60) for _ in procs)  # the slowest slice bounds the shared read
        for p in procs:
            p.join()
    buffer.close()
    return size * workers * PASSES / seconds / 1e9


def _cache_file(cache_dir: Path) -> Path:
    from advisor.hardware.host import linux_meminfo

    memory = linux_meminfo()
    if memory is None:
        import psutil

        memory = (psutil.virtual_memory().total, 0)
    shape = f"{memory[0]}-{os.cpu_count()}"
    return cache_dir / f"ram-bandwidth-{shape}.json"


def cached(cache_dir: Path) -> dict[str, float | str] | None:
    try:
        data = read_json(_cache_file(cache_dir), 4096)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("gbps"), float) or not 0.1 <= data["gbps"] <= 100_000:
        return None  # not ours, or a value no RAM has: measure again
    return data


def measure_and_cache(cache_dir: Path) -> dict[str, float | str]:
    result: dict[str, float | str] = {"gbps": round(measure(), 1), "date": time.strftime("%Y-%m-%d")}
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        target = _cache_file(cache_dir)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result))
        tmp.replace(target)
    except OSError:
        pass
    return result
