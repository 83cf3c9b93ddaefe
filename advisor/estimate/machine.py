"""Hardware + catalog -> Machine: usable memory, bandwidth and compute per device. Pure.

Also builds hypothetical hardware from names such as "RTX 4090", "2x RTX 3090" or "M4 Max 128GB".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from advisor.errors import UnknownNameError, UsageError
from advisor.hardware.vendors import llama_cpp_backend
from advisor.specs import Device, GpuSpec, Hardware
from advisor.specs.facts import Catalog, normalize
from advisor.units import GIB, MAX_ECHO_CHARS, cut, parse_size

_COUNT = re.compile(r"^\s*(\d+)\s*[x\u00d7]\s*(.+)$", re.IGNORECASE)
_MEMORY_SUFFIX = re.compile(r"^(.*?)[\s\-]*(\d+(?:\.\d+)?)\s*(gb|gib|g)?$", re.IGNORECASE)
_BARE_SIZE = re.compile(r"^\s*\d+(?:\.\d+)?\s*(?:[kmgt]i?b|[gt])\s*$", re.IGNORECASE)
_BANDWIDTH = re.compile(r"^\s*(.*?)\s*(?:gbps|gb/s)?\s*$", re.IGNORECASE)
_GLUED = re.compile(r"(?<=[a-z]{2})(?=\d)|(?<=\d)(?=[a-z])")  # 'rtx4090ti' -> 'rtx 4090 ti'
_VARIANT = re.compile(r"\d+\s*-?\s*c(?:ore)?\b", re.IGNORECASE)  # a named GPU-core bin: '40-core', '32c'
MAX_GPUS = 16
MAX_SPEC_CHARS = 1000  # 16 parts of the longest catalog names fit with room to spare
MAX_BANDWIDTH_GBPS = 100_000.0
@dataclass(frozen=True, slots=True)
class MachineDevice:
    device: Device
    spec: GpuSpec | None
    memory_usable_bytes: int
    usable_basis: str
    bandwidth_gbps: float | None
    bandwidth_basis: str
    fp16_tflops: float | None
    speed_class: str
    backend: str


@dataclass(frozen=True, slots=True)
class Machine:
    hardware: Hardware
    devices: tuple[MachineDevice, ...]
    ram_usable_bytes: int
    ram_bandwidth_gbps: float
    ram_bandwidth_basis: str
    notes: tuple[str, ...]

    @property
    def gpu_usable_bytes(self) -> int:
        return sum(d.memory_usable_bytes for d in self.devices)

    @property
    def unified(self) -> bool:
        return any(d.device.kind == "unified" for d in self.devices)


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


def hypothetical(probed: Hardware | None, catalog: Catalog, *, gpu: str | None, ram_bytes: int | None) -> Hardware:
    """The probed hardware with the user's replacements; unchanged when nothing is replaced."""
    base = probed or Hardware(source="hypothetical", devices=(), ram_total_bytes=None, ram_available_bytes=None)
    if gpu is None and ram_bytes is None:
        return base
    notes = list(base.notes) if gpu is None else [n for n in base.notes if not n.startswith("NVIDIA")]
    devices = base.devices if gpu is None else hypothetical_devices(gpu, catalog)
    ram_total, ram_avail = base.ram_total_bytes, base.ram_available_bytes
    unified = [d for d in devices if d.kind == "unified"]
    if unified and gpu is not None:
        ram_total, ram_avail = unified[0].memory_total_bytes, None
        ignored = " (--ram does not apply to unified memory)" if ram_bytes is not None else ""
        notes.append(f"RAM: the unified memory of the named machine{ignored}")
    elif ram_bytes is not None:
        ram_total, ram_avail = ram_bytes, None
        notes.append(f"RAM: {ram_bytes / GIB:.0f} GiB as given with --ram")
    elif ram_total is not None and gpu is not None:
        notes.append(f"RAM: this machine's {ram_total / GIB:.0f} GiB (probed); pass --ram to assume another")
    return replace(base, source="hypothetical", devices=devices, ram_total_bytes=ram_total,
                   ram_available_bytes=ram_avail, notes=tuple(notes))


def ram_bandwidth_from(text: str, catalog: Catalog) -> tuple[float, str]:
    """'90' (GB/s) or a catalog memory configuration ('ddr5-6000-2ch') -> (GB/s, basis)."""
    try:
        value = float(text)
    except ValueError:
        spec = catalog.memory(text)
        return spec.bandwidth_gbps, (f"{spec.name}: {spec.bus_width_bits}-bit x {spec.mt_s} MT/s peak, "
                                     "given with --ram-bandwidth")
    if not 0 < value < 100_000:
        msg = f"--ram-bandwidth must be a positive number of GB/s or a memory configuration, got {text!r}"
        raise UsageError(msg)
    return value, "given with --ram-bandwidth"


def resolve(hardware: Hardware, catalog: Catalog, *, ram_bandwidth: tuple[float, str] | None = None) -> Machine:
    """Join probed or hypothetical devices with catalog specs and the memory rules in defaults.

    Unified memory is one pool: the GPU's usable share leaves an OS reserve, and the RAM usable for the CPU is what
    is left after the GPU's share, so usable GPU + usable RAM never exceeds the memory there is.
    """
    notes = list(hardware.notes)
    d = catalog.defaults
    ram_total = hardware.ram_total_bytes or 0
    unified = [x for x in hardware.devices if x.kind == "unified"]
    pools = {id(x): max(x.memory_total_bytes, ram_total) if len(unified) == 1 else x.memory_total_bytes
             for x in unified}  # one APU: its pool is all of system memory (a probed one sees RAM and carve-out apart)
    devices = tuple(_resolve_device(x, catalog, notes, pools.get(id(x), 0)) for x in hardware.devices)
    usable = max(0, int(ram_total * (1 - d.ram_reserve_fraction)) - d.ram_reserve_bytes)
    if hardware.ram_available_bytes is not None:
        usable = min(usable, hardware.ram_available_bytes)
    if unified:
        gpu_share = sum(x.memory_usable_bytes for x in devices if x.device.kind == "unified")
        left = max(0, sum(p - unified_os_reserve(p, catalog) for p in pools.values()) - gpu_share)
        usable = min(usable, left)
        notes.append(f"unified memory is one pool: {gpu_share / GIB:.1f} GiB usable by the GPU, {usable / GIB:.1f} GiB "
                     "left for the CPU after the GPU's share and the OS reserve (not counted twice)")
    if ram_bandwidth is not None:
        bw, bw_basis = ram_bandwidth
    else:
        bw = d.cpu_ram_bandwidth_gbps
        bw_basis = f"assumed {bw:g} GB/s (typical dual-channel desktop); pass --ram-bandwidth to set it"
    return Machine(hardware, devices, usable, bw, bw_basis, tuple(notes))


def unified_os_reserve(pool_bytes: int, catalog: Catalog) -> int:
    """What a unified-memory machine keeps for the OS and the CPU side (catalog/defaults.yaml)."""
    d = catalog.defaults
    return min(pool_bytes, d.unified_os_reserve_bytes + int(pool_bytes * d.unified_os_reserve_fraction))


def match_spec(device: Device, catalog: Catalog) -> GpuSpec | None:
    """The catalog entry for a probed device name (e.g. 'NVIDIA GeForce RTX 4090', 'Apple M4 Max')."""
    if device.catalog_id:
        return catalog.find_gpu(device.catalog_id)
    name = device.name
    candidates = [name, name.removeprefix("NVIDIA ").removeprefix("GeForce ").removeprefix("Apple ")]
    if device.gpu_cores:
        candidates.insert(0, f"{normalize(candidates[-1])}-{device.gpu_cores}c")
    for candidate in candidates:
        spec = catalog.find_gpu(candidate)
        if spec is not None:
            return spec
    return None


def _resolve_device(device: Device, catalog: Catalog, notes: list[str], pool: int) -> MachineDevice:
    spec = match_spec(device, catalog)
    d = catalog.defaults
    if device.kind == "unified":
        usable, basis = _unified_cap(device, catalog, pool)
    else:
        base = device.memory_free_bytes if device.memory_free_bytes is not None else device.memory_total_bytes
        what = "free (probed)" if device.memory_free_bytes is not None else "total"
        usable = max(0, base - d.gpu_margin_bytes)
        basis = f"{what} memory minus a {d.gpu_margin_bytes / GIB:g} GiB safety margin"
    bandwidth, bw_basis = _bandwidth(device, spec, notes)
    if spec is None:
        notes.append(f"{device.name} is not in the catalog: no FP16 throughput known, so no prefill estimate")
    speed_class = spec.device_class if spec else ("apple" if device.vendor == "apple" else "consumer")
    return MachineDevice(device, spec, usable, basis, bandwidth, bw_basis, spec.fp16_tflops if spec else None,
                         speed_class if speed_class in d.speed_classes else "consumer",
                         llama_cpp_backend(device.vendor))


def _unified_cap(device: Device, catalog: Catalog, pool: int) -> tuple[int, str]:
    """The GPU's share of a unified pool of `pool` bytes, and its basis; the rest stays with the OS and the CPU."""
    d = catalog.defaults
    pool = max(pool, device.memory_total_bytes)
    if device.vendor == "apple":
        if device.wired_limit_bytes:
            usable = min(device.wired_limit_bytes, pool)
            return usable, (f"GPU working-set limit iogpu.wired_limit_mb (probed); the other "
                            f"{(pool - usable) / GIB:.1f} GiB stay with macOS and the CPU")
        small = pool <= d.unified_cap_threshold_bytes
        fraction = d.unified_cap_small_fraction if small else d.unified_cap_large_fraction
        usable = int(pool * fraction)
        return usable, (f"macOS default GPU working set, {fraction:.0%} of unified memory (iogpu.wired_limit_mb "
                        f"not set); the other {(pool - usable) / GIB:.1f} GiB stay with macOS and the CPU")
    reserve = unified_os_reserve(pool, catalog)
    by_reserve = max(0, pool - reserve)
    reserve_text = (f"{pool / GIB:.1f} GiB of unified memory less an OS reserve of {reserve / GIB:.1f} GiB "
                    f"({d.unified_os_reserve_bytes / GIB:g} GiB + {d.unified_os_reserve_fraction:.0%}, an "
                    "assumption: catalog/defaults.yaml)")
    if device.memory_total_bytes < pool:  # a probed APU: VRAM carve-out + GTT is what its GPU may map
        by_pool = max(0, device.memory_total_bytes - d.gpu_margin_bytes)
        if by_pool <= by_reserve:
            return by_pool, (f"GPU-visible memory (VRAM + GTT, probed) minus a {d.gpu_margin_bytes / GIB:g} GiB "
                             f"margin, within {reserve_text}")
    return by_reserve, reserve_text


def _bandwidth(device: Device, spec: GpuSpec | None, notes: list[str]) -> tuple[float | None, str]:
    if device.bandwidth_gbps is not None and device.catalog_id is None:
        if spec is not None and spec.bandwidth_gbps and abs(device.bandwidth_gbps / spec.bandwidth_gbps - 1) > 0.1:
            notes.append(f"{device.name}: probed bandwidth {device.bandwidth_gbps:.0f} GB/s differs from the "
                         f"catalog's {spec.bandwidth_gbps:.0f} GB/s; using the probed figure")
        return device.bandwidth_gbps, device.bandwidth_basis or "probed"
    if spec is not None and spec.bandwidth_gbps:
        return spec.bandwidth_gbps, f"catalog: {spec.source}"
    notes.append(f"{device.name}: memory bandwidth unknown, so no speed estimate")
    return None, "unknown"
