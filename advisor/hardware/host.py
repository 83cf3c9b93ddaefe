"""Host CPU and RAM through psutil, clamped to a container's cgroup memory limit.

psutil reports the host's RAM inside a container; the cgroup limit is what the process may use.
read() does the I/O (psutil, /proc, /sys/fs/cgroup under `root`); parse() is pure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor.specs import Device, Hardware

Raw = dict[str, Any]
_UNLIMITED = 1 << 60  # cgroup v1 writes 9223372036854771712 for "no limit"


def _text(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read(65536)
    except OSError:
        return None


def read(root: Path = Path("/")) -> Raw:
    """psutil figures plus the raw cgroup and cpuinfo text (recordable as a fixture)."""
    import psutil

    memory = psutil.virtual_memory()
    raw: Raw = {"ram_total_bytes": memory.total, "ram_available_bytes": memory.available,
                "cpu_logical": psutil.cpu_count(logical=True), "cpu_physical": psutil.cpu_count(logical=False),
                "cpuinfo": _text(root / "proc/cpuinfo"), "proc_cgroup": _text(root / "proc/self/cgroup")}
    raw["cgroup"] = _read_cgroup(root, raw["proc_cgroup"] or "")
    return raw


def _read_cgroup(root: Path, proc_cgroup: str) -> dict[str, str | None]:
    base = root / "sys/fs/cgroup"
    v2_path = next((line.split("::", 1)[1].strip() for line in proc_cgroup.splitlines()
                    if line.startswith("0::")), None)
    found: dict[str, str | None] = {}
    if v2_path is not None:
        here = base / v2_path.lstrip("/")
        for folder in (here, *here.parents):  # the nearest limit up the tree applies
            if folder == base.parent:
                break
            found["v2_max"] = _text(folder / "memory.max")
            found["v2_current"] = _text(folder / "memory.current")
            if found["v2_max"] and found["v2_max"].strip() != "max":
                break
    found["v1_limit"] = _text(base / "memory/memory.limit_in_bytes")
    found["v1_usage"] = _text(base / "memory/memory.usage_in_bytes")
    return found


def cgroup_limit(cgroup: dict[str, str | None]) -> tuple[int, int | None, str] | None:
    """(limit, usage, which) when a container memory limit applies."""
    for prefix, label in (("v2", "cgroup v2"), ("v1", "cgroup v1")):
        limit = _num(cgroup.get(f"{prefix}_max" if prefix == "v2" else "v1_limit"))
        if limit is not None and limit < _UNLIMITED:
            return limit, _num(cgroup.get(f"{prefix}_current" if prefix == "v2" else "v1_usage")), label
    return None


def _num(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


def _cpu_name(cpuinfo: str | None) -> str | None:
    for line in (cpuinfo or "").splitlines():
        if line.startswith(("model name", "Model", "Hardware")) and ":" in line:
            return line.split(":", 1)[1].strip() or None
    return None


def parse(raw: Raw, *, devices: tuple[Device, ...] = (), notes: tuple[str, ...] = ()) -> Hardware:
    total, available = raw.get("ram_total_bytes"), raw.get("ram_available_bytes")
    limit_source = None
    extra: list[str] = []
    limit = cgroup_limit(raw.get("cgroup") or {})
    if limit is not None and total is not None and limit[0] < total:
        cap, used, limit_source = limit
        total = cap
        available = min(available or cap, max(0, cap - (used or 0)))
        extra.append(f"RAM: container memory limit ({limit_source}) of {cap / 2**30:.1f} GiB applies, "
                     "not the host's RAM")
    return Hardware(source="probe", devices=devices, ram_total_bytes=total, ram_available_bytes=available,
                    cpu_name=raw.get("cpu_name") or _cpu_name(raw.get("cpuinfo")),
                    cpu_physical_cores=raw.get("cpu_physical"), cpu_logical_cores=raw.get("cpu_logical"),
                    ram_limit_source=limit_source, notes=(*notes, *extra))
