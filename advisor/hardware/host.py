"""Host CPU and RAM through psutil, clamped to a container's cgroup memory limit and CPU quota.

psutil reports the host's RAM and CPUs inside a container; the cgroup limits (memory.max, cpu.max, v1's
memory.limit_in_bytes and cpu.cfs_quota_us / cpu.cfs_period_us) and the CPU affinity mask are what the process may use.
read() does the I/O (psutil, /proc, /sys/fs/cgroup under `root`, sched_getaffinity); parse() is pure.
"""

from __future__ import annotations

import math
import os
import platform
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
    fast = _linux_figures(root)
    if fast is None:
        import psutil

        memory = psutil.virtual_memory()
        fast = (memory.total, memory.available, psutil.cpu_count(logical=True), psutil.cpu_count(logical=False))
    raw: Raw = {"ram_total_bytes": fast[0], "ram_available_bytes": fast[1],
                "cpu_logical": fast[2], "cpu_physical": fast[3],
                "cpuinfo": _text(root / "proc/cpuinfo"), "proc_cgroup": _text(root / "proc/self/cgroup"),
                "machine": platform.machine()}
    raw["cgroup"] = _read_cgroup(root, raw["proc_cgroup"] or "")
    raw["cpu_quota"] = read_cpu_cgroup(root, raw["proc_cgroup"] or "")
    raw["affinity_cpus"] = _affinity()
    return raw


def linux_meminfo(root: Path = Path("/")) -> tuple[int, int] | None:
    """(MemTotal, MemAvailable) in bytes from /proc/meminfo, as psutil reads them; None elsewhere."""
    text = _text(root / "proc/meminfo") if os.name == "posix" else None
    if not text:
        return None
    fields = {k: v.split() for k, _, v in (line.partition(":") for line in text.splitlines())}
    try:
        return int(fields["MemTotal"][0]) * 1024, int(fields["MemAvailable"][0]) * 1024
    except (KeyError, IndexError, ValueError):
        return None


def _linux_figures(root: Path) -> tuple[int, int, int | None, int | None] | None:
    """RAM and CPU counts without importing psutil (Linux /proc and /sys, psutil's own sources), else None."""
    import sys

    if not sys.platform.startswith("linux"):
        return None
    memory = linux_meminfo(root)
    cpus = root / "sys/devices/system/cpu"
    cores: set[str] = set()
    for topology in cpus.glob("cpu[0-9]*/topology"):
        siblings = _text(topology / "core_cpus_list") or _text(topology / "thread_siblings_list")
        if siblings is None:
            return None
        cores.add(siblings.strip())
    if memory is None or not cores:
        return None
    return memory[0], memory[1], os.cpu_count(), len(cores)


def _affinity() -> int | None:
    """How many CPUs this process may run on (Linux only; None where the OS has no affinity call)."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    try:
        return len(getaffinity(0)) if getaffinity else None
    except OSError:
        return None


def _v2_folders(root: Path, proc_cgroup: str) -> list[Path]:
    """This process's cgroup v2 folder and its ancestors up to /sys/fs/cgroup, nearest first."""
    base = root / "sys/fs/cgroup"
    v2_path = next((line.split("::", 1)[1].strip() for line in proc_cgroup.splitlines()
                    if line.startswith("0::")), None)
    if v2_path is None:
        return []
    here = base / v2_path.lstrip("/")
    folders = [here, *here.parents]
    return folders[:folders.index(base) + 1] if base in folders else [here]


def read_cpu_cgroup(root: Path, proc_cgroup: str) -> dict[str, Any]:
    """Raw cpu.max text of every level (each one caps), and cgroup v1's CFS quota and period."""
    found: dict[str, Any] = {"v2_cpu_max": [text for folder in _v2_folders(root, proc_cgroup)
                                            if (text := _text(folder / "cpu.max"))]}
    for controller in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        quota = _text(root / "sys/fs/cgroup" / controller / "cpu.cfs_quota_us")
        if quota is not None:
            found["v1_quota"] = quota
            found["v1_period"] = _text(root / "sys/fs/cgroup" / controller / "cpu.cfs_period_us")
            break
    return found


def _read_cgroup(root: Path, proc_cgroup: str) -> dict[str, str | None]:
    base = root / "sys/fs/cgroup"
    found: dict[str, str | None] = {}
    for folder in _v2_folders(root, proc_cgroup):  # the nearest limit up the tree applies
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


def cpu_quota(quota: dict[str, Any]) -> tuple[float, str] | None:
    """(CPUs, which) for the tightest CFS quota: cpu.max "200000 100000" is 2 CPUs; "max" and -1 mean none."""
    limits: list[tuple[float, str]] = []
    for text in quota.get("v2_cpu_max") or []:
        parts = str(text).split()
        limit, period = _num(parts[0]) if parts else None, _num(parts[1]) if len(parts) > 1 else 100000
        if limit and limit > 0 and period and period > 0:
            limits.append((limit / period, "cgroup v2 cpu.max"))
    limit, period = _num(quota.get("v1_quota")), _num(quota.get("v1_period"))
    if limit and limit > 0 and period and period > 0:
        limits.append((limit / period, "cgroup v1 cpu.cfs_quota_us"))
    return min(limits) if limits else None


def _clamp_cpus(raw: Raw) -> tuple[int | None, int | None, list[str]]:
    """(logical, physical, notes): the host's CPU counts cut to the affinity mask and the container quota."""
    logical, physical = raw.get("cpu_logical"), raw.get("cpu_physical")
    notes: list[str] = []
    affinity = raw.get("affinity_cpus")
    if isinstance(affinity, int) and affinity > 0 and (logical is None or affinity < logical):
        notes.append(f"CPU: this process may run on {affinity} of the {logical or '?'} logical CPUs (affinity)")
        logical = affinity
    quota = cpu_quota(raw.get("cpu_quota") or {})
    if quota is not None and (logical is None or math.ceil(quota[0]) < logical):
        cpus = max(1, math.ceil(quota[0]))
        notes.append(f"CPU: container CPU quota ({quota[1]}) of {quota[0]:g} CPUs applies; counted as {cpus} "
                     f"of {logical or '?'} logical CPUs")
        logical = cpus
    if physical and logical and physical > logical:
        physical = logical
    return logical, physical, notes


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


def simd_bits(cpuinfo: str | None, machine: str | None) -> int | None:
    """The CPU's vector width from /proc/cpuinfo: AVX-512 512 (AMD family 25, Zen 4, runs it on 256-bit units),
    AVX2 256, an ARM CPU's NEON 128; None when it cannot tell."""
    flags: set[str] = set()
    fields: dict[str, str] = {}
    for line in (cpuinfo or "").splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    if "avx512f" in flags:
        zen4 = fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25"
        return 256 if zen4 else 512
    if "avx2" in flags:
        return 256
    if "asimd" in flags or (machine or "").lower() in ("arm64", "aarch64"):
        return 128
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
    logical, physical, cpu_notes = _clamp_cpus(raw)
    return Hardware(source="probe", devices=devices, ram_total_bytes=total, ram_available_bytes=available,
                    cpu_name=raw.get("cpu_name") or _cpu_name(raw.get("cpuinfo")),
                    cpu_physical_cores=physical, cpu_logical_cores=logical,
                    cpu_simd_bits=simd_bits(raw.get("cpuinfo"), raw.get("machine")),
                    ram_limit_source=limit_source, notes=(*notes, *extra, *cpu_notes))
