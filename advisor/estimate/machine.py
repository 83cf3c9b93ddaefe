"""Hardware + catalog -> Machine: usable memory, bandwidth and compute per device. Pure.

Also builds hypothetical hardware from names such as "RTX 4090", "2x RTX 3090" or "M4 Max 128GB".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from advisor.errors import UsageError
from advisor.hardware.vendors import llama_cpp_backend
from advisor.specs import Device, GpuSpec, Hardware
from advisor.specs.facts import Catalog, normalize
from advisor.units import GIB, parse_size

_COUNT = re.compile(r"^\s*(\d+)\s*[x×]\s*(.+)$", re.IGNORECASE)
_MEMORY_SUFFIX = re.compile(r"^(.*?)[\s\-]*(\d+(?:\.\d+)?)\s*(gb|gib|g)?$", re.IGNORECASE)
_CUSTOM = re.compile(r"^(\d+(?:\.\d+)?)\s*(gb|gib)\s*@\s*(\d+(?:\.\d+)?)\s*(gbps|gb/s)?$", re.IGNORECASE)
MAX_GPUS = 16


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
    """Devices for 'RTX 4090', '2x RTX 3090', '4090+3090', 'M4 Max 128GB' or 'none'."""
    if normalize(text) in ("none", "cpu", "no-gpu"):
        return ()
    devices: list[Device] = []
    for part in text.split("+"):
        count, name = 1, part.strip()
        match = _COUNT.match(name)
        if match:
            count, name = int(match.group(1)), match.group(2).strip()
        if not 1 <= count <= MAX_GPUS:
            msg = f"GPU count must be between 1 and {MAX_GPUS}, got {count} in {text!r}"
            raise UsageError(msg)
        custom = _CUSTOM.match(name)
        if custom:
            size = parse_size(f"{custom.group(1)}{custom.group(2)}")
            devices += [custom_device(size, float(custom.group(3)), len(devices) + i) for i in range(count)]
            continue
        spec, memory = _spec_and_memory(name, catalog)
        devices += [_device(spec, memory, len(devices) + i) for i in range(count)]
    return tuple(devices)


def custom_device(memory_bytes: int, bandwidth_gbps: float, index: int = 0) -> Device:
    """A GPU described only by its memory and bandwidth (no compute figure, so no prefill estimate)."""
    if not 0 < bandwidth_gbps < 100_000:
        msg = f"bandwidth must be a positive number of GB/s, got {bandwidth_gbps:g}"
        raise UsageError(msg)
    name = f"custom GPU {memory_bytes / GIB:g} GiB @ {bandwidth_gbps:g} GB/s"
    return Device(name=name, vendor="custom", kind="discrete", memory_total_bytes=memory_bytes,
                  bandwidth_gbps=bandwidth_gbps, bandwidth_basis="given", index=index)


def _spec_and_memory(name: str, catalog: Catalog) -> tuple[GpuSpec, int]:
    spec = catalog.find_gpu(name)
    if spec is not None:
        return spec, spec.memory_bytes
    match = _MEMORY_SUFFIX.match(name)
    base = catalog.find_gpu(match.group(1)) if match and match.group(1) else None
    if match and base is not None and (match.group(3) or base.memory_options_bytes):
        spec = base
        memory = parse_size(f"{match.group(2)}GiB")
        if not spec.memory_options_bytes and memory != spec.memory_bytes:
            msg = f"{spec.name} has {spec.memory_bytes / GIB:g} GB of memory, not {match.group(2)}GB"
            raise UsageError(msg)
        if spec.memory_options_bytes and memory not in spec.memory_options_bytes:
            sold = ", ".join(f"{m // GIB}GB" for m in spec.memory_options_bytes)
            msg = f"{spec.name} is sold with {sold}, not {match.group(2)}GB"
            raise UsageError(msg)
        return spec, memory
    return catalog.gpu(name), 0  # raises UnknownNameError with the closest names


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
    """Join probed or hypothetical devices with catalog specs and the memory rules in defaults."""
    notes = list(hardware.notes)
    devices = tuple(_resolve_device(d, catalog, notes) for d in hardware.devices)
    d = catalog.defaults
    ram_total = hardware.ram_total_bytes or 0
    usable = max(0, int(ram_total * (1 - d.ram_reserve_fraction)) - d.ram_reserve_bytes)
    if hardware.ram_available_bytes is not None:
        usable = min(usable, hardware.ram_available_bytes)
    if ram_bandwidth is not None:
        bw, bw_basis = ram_bandwidth
    else:
        bw = d.cpu_ram_bandwidth_gbps
        bw_basis = f"assumed {bw:g} GB/s (typical dual-channel desktop); pass --ram-bandwidth to set it"
    return Machine(hardware, devices, usable, bw, bw_basis, tuple(notes))


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


def _resolve_device(device: Device, catalog: Catalog, notes: list[str]) -> MachineDevice:
    spec = match_spec(device, catalog)
    d = catalog.defaults
    if device.kind == "unified":
        usable, basis = _unified_cap(device, catalog)
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


def _unified_cap(device: Device, catalog: Catalog) -> tuple[int, str]:
    d = catalog.defaults
    if device.vendor != "apple":  # an APU's GPU pool (AMD: VRAM carve-out + GTT) is already what the GPU may map
        usable = max(0, device.memory_total_bytes - d.gpu_margin_bytes)
        return usable, f"GPU-visible memory (VRAM + GTT where probed) minus a {d.gpu_margin_bytes / GIB:g} GiB margin"
    if device.wired_limit_bytes:
        return device.wired_limit_bytes, "GPU working-set limit iogpu.wired_limit_mb (probed)"
    small = device.memory_total_bytes <= d.unified_cap_threshold_bytes
    fraction = d.unified_cap_small_fraction if small else d.unified_cap_large_fraction
    return int(device.memory_total_bytes * fraction), (
        f"macOS default GPU working set, {fraction:.0%} of unified memory (iogpu.wired_limit_mb not set)")


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
