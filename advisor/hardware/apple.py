"""Apple Silicon unified memory through sysctl and ioreg. read() runs the tools; parse() is pure.

The GPU may use only part of the unified memory: iogpu.wired_limit_mb when set, otherwise macOS's
default working set (applied later from catalog/defaults.yaml, since it is a tunable fact).
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

from advisor.specs import Device

Raw = dict[str, Any]
_TIMEOUT_S = 3


def _run(*argv: str) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def read() -> Raw:
    """Raw sysctl and ioreg output (recordable as a fixture)."""
    return {
        "brand": _run("sysctl", "-n", "machdep.cpu.brand_string"),
        "memsize": _run("sysctl", "-n", "hw.memsize"),
        "wired_limit_mb": _run("sysctl", "-n", "iogpu.wired_limit_mb"),
        "ioreg": _run("ioreg", "-r", "-c", "AGXAccelerator", "-d", "1"),
    }


def parse(raw: Raw) -> tuple[tuple[Device, ...], tuple[str, ...]]:
    brand = (raw.get("brand") or "").strip()
    if not brand.startswith("Apple M"):
        return (), ("Apple: not an Apple Silicon machine",) if brand else ("Apple: chip not readable",)
    memsize = _int(raw.get("memsize"))
    if not memsize:
        return (), ("Apple: unified memory size not readable (sysctl hw.memsize)",)
    cores = re.search(r'"gpu-core-count"\s*=\s*(\d+)', raw.get("ioreg") or "")
    limit_mb = _int(raw.get("wired_limit_mb"))
    notes = [] if cores else ["Apple: GPU core count not readable; matched the chip without it"]
    device = Device(name=brand, vendor="apple", kind="unified", memory_total_bytes=memsize,
                    gpu_cores=int(cores.group(1)) if cores else None,
                    wired_limit_bytes=limit_mb * 1024 * 1024 if limit_mb else None)
    return (device,), tuple(notes)


def _int(text: object) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None
