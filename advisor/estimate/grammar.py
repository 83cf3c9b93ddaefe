"""The hardware grammar of --gpu and compare: "RTX 4090", "2x RTX 3090", "4090+3090", "M4 Max 128GB",
"Ryzen AI Max+ 395", "24GB@1008GBps", "none" -> devices, with every bound checked and every message naming the part.
Pure.
"""

from __future__ import annotations

import re
from dataclasses import replace

from advisor.errors import UnknownNameError, UsageError
from advisor.specs import Device, GpuSpec
from advisor.specs.facts import Catalog, normalize
from advisor.units import GIB, MAX_ECHO_CHARS, cut, parse_size

__all__ = ["MAX_BANDWIDTH_GBPS", "MAX_GPUS", "check_bandwidth", "custom_device", "find_gpu", "hypothetical_devices"]

_COUNT = re.compile(r"^\s*(\d+)\s*[x\u00d7]\s*(.+)$", re.IGNORECASE)
_MEMORY_SUFFIX = re.compile(r"^(.*?)[\s\-]*(\d+(?:\.\d+)?)\s*(gb|gib|g)?$", re.IGNORECASE)
_BARE_SIZE = re.compile(r"^\s*\d+(?:\.\d+)?\s*(?:[kmgt]i?b|[gt])\s*$", re.IGNORECASE)
_BANDWIDTH = re.compile(r"^\s*(.*?)\s*(?:gbps|gb/s)?\s*$", re.IGNORECASE)
_GLUED = re.compile(r"(?<=[a-z]{2})(?=\d)|(?<=\d)(?=[a-z])")  # 'rtx4090ti' -> 'rtx 4090 ti'
_VARIANT = re.compile(r"\d+\s*-?\s*c(?:ore)?\b", re.IGNORECASE)  # a named GPU-core bin: '40-core', '32c'
MAX_GPUS = 16
MAX_SPEC_CHARS = 1000  # 16 parts of the longest catalog names fit with room to spare
MAX_BANDWIDTH_GBPS = 100_000.0


def hypothetical_devices(text: str, catalog: Catalog) -> tuple[Device, ...]:
    """Devices for 'RTX 4090', '2x RTX 3090', '4090+3090', 'M4 Max 128GB', 'Ryzen AI Max+ 395' or 'none'.

    '+' joins parts only where the text on each side reads as a device, so a '+' in a product name stays in it.
    """
    if len(text) > MAX_SPEC_CHARS or text.count("+") > 2 * MAX_GPUS:
        msg = (f"--gpu is too long: at most {MAX_GPUS} GPUs and {MAX_SPEC_CHARS} characters, "
               f"got {len(text)} characters with {text.count('+')} '+' in {cut(text)!r}")
        raise UsageError(msg)
    if normalize(text) in ("none", "cpu", "no-gpu"):
        return ()
    pieces = text.split("+")
    parts: list[list[Device]] = []
    start = 0
    while start < len(pieces):
        for end in range(len(pieces), start, -1):  # the longest run of pieces that reads as one device
            found = _part("+".join(pieces[start:end]), catalog, text, strict=False)
            if found is not None:
                parts.append(found)
                start = end
                break
        else:  # nothing from here on reads as a device: say why the first piece does not
            _part(pieces[start], catalog, text, strict=True)
            raise UsageError(f"cannot read {cut(pieces[start])!r} in --gpu {cut(text)!r}")  # pragma: no cover
        if sum(len(p) for p in parts) > MAX_GPUS:
            msg = (f"at most {MAX_GPUS} GPUs in all, got {sum(len(p) for p in parts)} in {cut(text)!r}; "
                   "count every '+' part")
            raise UsageError(msg)
    devices = tuple(replace(d, index=i) for i, d in enumerate(d for p in parts for d in p))
    if len(devices) > 1 and any(d.vendor == "apple" for d in devices):
        msg = (f"an Apple M-series machine has one GPU and takes no other: {cut(text)!r} is not one machine "
               "(compare them side by side with advisor compare)")
        raise UsageError(msg)
    return devices


def _part(part: str, catalog: Catalog, whole: str, *, strict: bool) -> list[Device] | None:
    """One '+' part as devices; None when it does not read as one (strict: raise the reason instead)."""
    try:
        return _read_part(part, catalog, whole, strict=strict)
    except UsageError:
        if strict:
            raise
        return None


def _read_part(part: str, catalog: Catalog, whole: str, *, strict: bool) -> list[Device] | None:
    where = "" if part.strip() == whole.strip() else f" in --gpu {cut(whole)!r}"
    name = part.strip()
    if not name:
        raise UsageError(f"an empty part in --gpu {cut(whole)!r}: join GPUs like 4090+3090")
    count = 1
    match = _COUNT.match(name)
    if match:
        digits, name = match.group(1), match.group(2).strip()
        count = int(digits) if len(digits) <= 3 else MAX_GPUS + 1
        if not 1 <= count <= MAX_GPUS:
            msg = f"GPU count must be between 1 and {MAX_GPUS}, got {cut(digits, 12)} in {cut(part.strip())!r}{where}"
            raise UsageError(msg)
    if "@" in name:
        device = _custom(name, part, where)
        return [device] * count
    found = _spec_and_memory(name, catalog, strict=strict, where=where)
    if found is None:
        return None
    spec, memory = found
    return [_device(spec, memory, 0)] * count


def _custom(name: str, part: str, where: str) -> Device:
    """'24GB@1008' or '24GB@1008GBps': a GPU known by its memory and bandwidth."""
    size_text, bw_text = (t.strip() for t in name.split("@", 1))
    if not size_text or not bw_text:
        msg = (f"a custom GPU is written SIZE@GB/s, like 24GB@1008; got {cut(part.strip())!r}{where}")
        raise UsageError(msg)
    size = parse_size(size_text)
    return custom_device(size, _bandwidth_value(bw_text, f"bandwidth in {cut(part.strip())!r}{where}"))


def _bandwidth_value(text: str, what: str) -> float:
    number = _BANDWIDTH.match(text)
    try:
        value = float(number.group(1)) if number and len(text) <= 32 else float("nan")
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_BANDWIDTH_GBPS:  # also NaN
        msg = f"{what} must be a positive number of GB/s up to {MAX_BANDWIDTH_GBPS:.0f}, got {cut(text, 24)}"
        raise UsageError(msg)
    return value


def check_bandwidth(value: float, option: str) -> float:
    """A GB/s figure the user gave (--bandwidth): positive, finite, at most 100000."""
    if not 0 < value <= MAX_BANDWIDTH_GBPS:
        msg = f"{option} must be a positive number of GB/s up to {MAX_BANDWIDTH_GBPS:.0f}, got {value:g}"
        raise UsageError(msg)
    return value


def custom_device(memory_bytes: int, bandwidth_gbps: float, index: int = 0) -> Device:
    """A GPU described only by its memory and bandwidth (no compute figure, so no prefill estimate)."""
    check_bandwidth(bandwidth_gbps, "bandwidth")
    name = f"custom GPU {memory_bytes / GIB:g} GiB @ {bandwidth_gbps:g} GB/s"
    return Device(name=name, vendor="custom", kind="discrete", memory_total_bytes=memory_bytes,
                  bandwidth_gbps=bandwidth_gbps, bandwidth_basis="given", index=index)


def find_gpu(name: str, catalog: Catalog) -> GpuSpec | None:
    """A catalog GPU by name, also when typed without spaces ('rtx4090', 'RTX4090Ti')."""
    spec = catalog.find_gpu(name)
    if spec is None:
        glued = _GLUED.sub(" ", name.strip().lower())
        spec = catalog.find_gpu(glued) if glued != name.strip().lower() else None
    return spec


def _spec_and_memory(name: str, catalog: Catalog, *, strict: bool, where: str) -> tuple[GpuSpec, int] | None:
    spec = find_gpu(name, catalog)
    if spec is not None:
        return spec, spec.memory_bytes
    match = _MEMORY_SUFFIX.match(name)
    base = find_gpu(match.group(1), catalog) if match and match.group(1) else None
    if match and base is not None and (match.group(3) or base.memory_options_bytes):
        return _with_memory(base, match.group(1), match.group(2), catalog, where)
    if not strict:
        return None
    if _BARE_SIZE.match(name):
        size = name.replace(" ", "")
        msg = (f"a GPU needs its bandwidth too: write {cut(size, 16)}@1008 (GB/s) or --vram {cut(size, 16)} "
               f"--bandwidth 1008, with your GPU's own figure{where}")
        raise UsageError(msg)
    if len(name) > MAX_ECHO_CHARS:
        raise UnknownNameError("GPU", cut(name), ())
    try:
        return catalog.gpu(name), 0  # raises UnknownNameError with the closest names
    except UnknownNameError as err:
        if where:  # name the part and the whole spec it came from
            err.message = err.message.replace(f"{name!r}.", f"{name!r}{where}.", 1)
            err.args = (err.message,)
        raise


def _with_memory(base: GpuSpec, typed: str, amount: str, catalog: Catalog, where: str) -> tuple[GpuSpec, int]:
    """'M4 Max 36GB': the named chip with that much memory, or the bin of it that is sold with it."""
    memory = parse_size(f"{amount}GiB")
    if not base.memory_options_bytes and memory != base.memory_bytes:
        msg = f"{base.name} has {base.memory_bytes / GIB:g} GB of memory, not {amount}GB{where}"
        raise UsageError(msg)
    if base.memory_options_bytes and memory not in base.memory_options_bytes:
        siblings = [] if _VARIANT.search(typed) else _siblings(base, catalog)
        for other in siblings:
            if memory in other.memory_options_bytes:
                return other, memory
        sizes = sorted({m for s in (base, *siblings) for m in s.memory_options_bytes})
        sold = ", ".join(f"{m // GIB}GB" for m in sizes)
        msg = f"{_family(base)} is sold with {sold}, not {amount}GB{where}"
        raise UsageError(msg)
    return base, memory


def _family(spec: GpuSpec) -> str:
    """'Apple M4 Max (40-core GPU)' -> 'Apple M4 Max': the chip without its bin."""
    return spec.name.split(" (", 1)[0]


def _siblings(spec: GpuSpec, catalog: Catalog) -> list[GpuSpec]:
    """Other bins of the same chip ('Apple M4 Max (32-core GPU)' for the 40-core one)."""
    family = _family(spec)
    return [g for g in catalog.gpus if g.id != spec.id and g.vendor == spec.vendor and "(" in g.name
            and _family(g) == family]


def _device(spec: GpuSpec, memory: int, index: int) -> Device:
    return Device(name=spec.name, vendor=spec.vendor, kind=spec.kind, memory_total_bytes=memory,
                  bandwidth_gbps=spec.bandwidth_gbps, bandwidth_basis=f"catalog: {spec.source}",
                  bus_width_bits=spec.bus_width_bits, compute_capability=spec.compute_capability,
                  catalog_id=spec.id, index=index)
