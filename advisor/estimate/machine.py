"""Hardware + catalog -> Machine: usable memory, bandwidth and compute per device. Pure.

Hypothetical hardware ("RTX 4090", "2x RTX 3090", "M4 Max 128GB") is read by advisor.estimate.grammar.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from advisor.errors import UsageError
from advisor.estimate.grammar import hypothetical_devices
from advisor.estimate.speed import prefill_tflops
from advisor.hardware.vendors import llama_cpp_backend
from advisor.specs import Device, GpuSpec, Hardware
from advisor.specs.facts import Catalog, normalize
from advisor.units import GIB


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


def device_tflops(dev: MachineDevice, backend: str) -> float | None:
    """The matmul rate `backend`'s prefill runs at on this device (speed.prefill_tflops)."""
    return prefill_tflops(backend, dev.fp16_tflops, dev.spec.int8_tops if dev.spec else None, dev.device.vendor)


@dataclass(frozen=True, slots=True)
class Machine:
    hardware: Hardware
    devices: tuple[MachineDevice, ...]
    ram_usable_bytes: int
    ram_bandwidth_gbps: float
    ram_bandwidth_basis: str
    notes: tuple[str, ...]
    cpu_simd_bits: int = 256
    cpu_basis: str = ""

    @property
    def gpu_usable_bytes(self) -> int:
        return sum(d.memory_usable_bytes for d in self.devices)

    @property
    def unified(self) -> bool:
        return any(d.device.kind == "unified" for d in self.devices)


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
    simd = hardware.cpu_simd_bits or d.cpu_simd_bits
    cores = llama_threads(hardware)
    cpu_basis = (f"{cores} cores" if cores else "core count unknown (--cpu-cores sets it)") + \
        f", {simd}-bit SIMD" + ("" if hardware.cpu_simd_bits else " (assumed: AVX2; the probe could not tell)")
    return Machine(hardware, devices, usable, bw, bw_basis, tuple(notes), simd, cpu_basis)


def llama_threads(hardware: Hardware) -> int | None:
    """Threads llama.cpp runs the CPU with by default: the physical cores (logical where unknown); None: unknown."""
    return hardware.cpu_physical_cores or hardware.cpu_logical_cores or None


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
