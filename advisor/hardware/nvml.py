"""NVIDIA GPUs through NVML (nvidia-ml-py). read() talks to the driver; parse() is pure.

Peak bandwidth = bus width / 8 x max memory clock (MHz) x 2 (double data rate) / 1000 GB/s:
RTX 4090: 384/8 x 10501 x 2 = 1008 GB/s; H100 SXM: 5120/8 x 2619 x 2 = 3352 GB/s.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from advisor.specs import Device

Raw = dict[str, Any]


def read(module: ModuleType | None = None) -> Raw:
    """Everything NVML tells about each GPU, as plain data (recordable as a JSON fixture)."""
    try:
        pynvml = module or _import()
    except ImportError as err:
        return {"error": "import", "detail": str(err)}
    try:
        pynvml.nvmlInit()
    except Exception as err:  # NVMLError_* subclasses; any failure means "no NVIDIA GPU usable"
        return {"error": type(err).__name__, "detail": str(err)}
    try:
        return _read_devices(pynvml)
    finally:
        _query(pynvml.nvmlShutdown)


def _import() -> ModuleType:
    import pynvml

    module: ModuleType = pynvml
    return module


def _query(fn: Callable[..., Any], *args: Any) -> Any:
    """Call one NVML function; an NVML error (or a missing function) gives None."""
    try:
        value = fn(*args)
    except Exception:
        return None
    return value.decode() if isinstance(value, bytes) else value


def _read_devices(pynvml: ModuleType) -> Raw:
    count = _query(pynvml.nvmlDeviceGetCount) or 0
    raw: Raw = {"driver_version": _query(pynvml.nvmlSystemGetDriverVersion),
                "cuda_version": _query(pynvml.nvmlSystemGetCudaDriverVersion), "devices": []}
    for index in range(count):
        handle = _query(pynvml.nvmlDeviceGetHandleByIndex, index)
        if handle is None:
            raw["devices"].append({"index": index, "error": "handle"})
            continue
        memory = _query(pynvml.nvmlDeviceGetMemoryInfo, handle)
        raw["devices"].append({
            "index": index,
            "name": _query(pynvml.nvmlDeviceGetName, handle),
            "memory_total_bytes": getattr(memory, "total", None),
            "memory_free_bytes": getattr(memory, "free", None),
            "bus_width_bits": _query(pynvml.nvmlDeviceGetMemoryBusWidth, handle),
            "max_memory_clock_mhz": _query(pynvml.nvmlDeviceGetMaxClockInfo, handle, pynvml.NVML_CLOCK_MEM),
            "compute_capability": _query(pynvml.nvmlDeviceGetCudaComputeCapability, handle),
        })
    return raw


_ERRORS = {
    "import": "NVIDIA: the nvidia-ml-py package is not importable",
    "NVMLError_LibraryNotFound": "NVIDIA: NVML library not found (is the NVIDIA driver installed?)",
    "NVMLError_DriverNotLoaded": "NVIDIA: the NVIDIA driver is not loaded",
    "NVMLError_NoPermission": "NVIDIA: no permission to query the GPU driver",
    "NVMLError_LibRmVersionMismatch": "NVIDIA: driver and NVML library versions differ (reboot after an upgrade?)",
}


def parse(raw: Raw) -> tuple[tuple[Device, ...], tuple[str, ...]]:
    """Devices and notes from read()'s data."""
    error = raw.get("error")
    if error is not None:
        note = _ERRORS.get(error, f"NVIDIA: NVML failed ({error}: {raw.get('detail', '')})")
        return (), (f"{note}; no NVIDIA GPU used",)
    devices, notes = [], []
    for item in raw.get("devices", []):
        device = _device(item, raw)
        if device is None:
            notes.append(f"NVIDIA: GPU {item.get('index')} could not be read; skipped")
        else:
            devices.append(device)
    if not devices and not notes:
        notes.append("NVIDIA: the driver reports no GPU")
    return tuple(devices), tuple(notes)


def _device(item: Raw, raw: Raw) -> Device | None:
    total = item.get("memory_total_bytes")
    if item.get("error") or not item.get("name") or not total:
        return None
    bus, clock = item.get("bus_width_bits"), item.get("max_memory_clock_mhz")
    bandwidth = bus / 8 * clock * 2 / 1000 if bus and clock else None
    cc = item.get("compute_capability")
    return Device(
        name=str(item["name"]), vendor="nvidia", kind="discrete", memory_total_bytes=int(total),
        memory_free_bytes=item.get("memory_free_bytes"), bandwidth_gbps=bandwidth,
        bandwidth_basis=f"NVML: {bus}-bit bus x {clock} MHz x 2" if bandwidth else None,
        bus_width_bits=bus, memory_clock_mhz=clock,
        compute_capability=f"{cc[0]}.{cc[1]}" if isinstance(cc, list | tuple) and len(cc) == 2 else None,
        driver_version=raw.get("driver_version"), cuda_version=_cuda(raw.get("cuda_version")),
        index=int(item.get("index", 0)),
    )


def _cuda(version: object) -> str | None:
    """NVML encodes CUDA 12.4 as 12040."""
    if isinstance(version, int) and version > 0:
        return f"{version // 1000}.{version % 1000 // 10}"
    return None
