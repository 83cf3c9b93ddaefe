"""NVIDIA GPUs through NVML (nvidia-ml-py). read() talks to the driver; parse() is pure.

Peak bandwidth = bus width / 8 x max memory clock (MHz) x 2 (double data rate) / 1000 GB/s:
RTX 4090: 384/8 x 10501 x 2 = 1008 GB/s; H100 SXM: 5120/8 x 2619 x 2 = 3352 GB/s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from advisor.specs import Device

Raw = dict[str, Any]
WSL_LIB: Final = "usr/lib/wsl/lib/libnvidia-ml.so.1"  # WSL2 maps the Windows driver's NVML here
_MIG_ENABLE: Final = 1  # NVML_DEVICE_MIG_ENABLE


def read(module: ModuleType | None = None, root: Path = Path("/")) -> Raw:
    """Everything NVML tells about each GPU, as plain data (recordable as a JSON fixture)."""
    if module is None and not _driver_present():  # no driver: skip importing pynvml (8,000 lines of ctypes classes)
        return _failed("NVMLError_LibraryNotFound", "NVML Shared Library Not Found", root)
    try:
        pynvml = module or _import()
    except ImportError as err:
        return _failed("import", str(err), root)
    try:
        pynvml.nvmlInit()
    except Exception as err:  # NVMLError_* subclasses; any failure means "no NVIDIA GPU usable"
        return _failed(type(err).__name__, str(err), root)
    try:
        return _read_devices(pynvml)
    finally:
        _query(pynvml.nvmlShutdown)


def _failed(error: str, detail: str, root: Path) -> Raw:
    raw: Raw = {"error": error, "detail": detail}
    try:
        if (root / WSL_LIB).exists():
            raw["wsl_lib"] = "/" + WSL_LIB
    except OSError:  # an unreadable /usr/lib/wsl says nothing either way
        pass
    return raw


def _driver_present() -> bool:
    """Whether libnvidia-ml loads (what pynvml.nvmlInit tries first on Linux); elsewhere, when pynvml is already
    imported (or faked) or not installed at all, let pynvml decide as before."""
    import sys
    from importlib.util import find_spec

    if not sys.platform.startswith("linux") or "pynvml" in sys.modules or find_spec("pynvml") is None:
        return True
    import ctypes

    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


def _import() -> ModuleType:
    import pynvml

    module: ModuleType = pynvml
    return module


def _call(fn: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
    """Call one NVML function: (value, None), or (None, the NVMLError_* class name) when it fails."""
    try:
        value = fn(*args)
    except Exception as err:
        return None, type(err).__name__
    return (value.decode() if isinstance(value, bytes) else value), None


def _query(fn: Callable[..., Any], *args: Any) -> Any:
    """Call one NVML function; an NVML error (or a missing function) gives None."""
    return _call(fn, *args)[0]


def _read_devices(pynvml: ModuleType) -> Raw:
    count, error = _call(pynvml.nvmlDeviceGetCount)
    raw: Raw = {"driver_version": _query(pynvml.nvmlSystemGetDriverVersion),
                "cuda_version": _query(pynvml.nvmlSystemGetCudaDriverVersion), "devices": []}
    if error is not None:
        raw["count_error"] = error
    raw["devices"] = [_read_device(pynvml, index) for index in range(count or 0)]
    return raw


def _read_device(pynvml: ModuleType, index: int) -> Raw:
    handle, error = _call(pynvml.nvmlDeviceGetHandleByIndex, index)
    if handle is None:
        return {"index": index, "error": error or "handle"}
    memory, error = _call(pynvml.nvmlDeviceGetMemoryInfo, handle)
    item: Raw = {
        "index": index,
        "name": _query(pynvml.nvmlDeviceGetName, handle),
        "memory_total_bytes": getattr(memory, "total", None),
        "memory_free_bytes": getattr(memory, "free", None),
        "bus_width_bits": _query(pynvml.nvmlDeviceGetMemoryBusWidth, handle),
        "max_memory_clock_mhz": _query(pynvml.nvmlDeviceGetMaxClockInfo, handle, pynvml.NVML_CLOCK_MEM),
        "compute_capability": _query(pynvml.nvmlDeviceGetCudaComputeCapability, handle),
    }
    if memory is None:
        item["error"] = error or "memory"
    mode = _query(getattr(pynvml, "nvmlDeviceGetMigMode", None) or _absent, handle)
    if isinstance(mode, list | tuple) and len(mode) == 2:
        if mode[0] == _MIG_ENABLE:
            item["mig"] = _read_mig(pynvml, handle)
        if mode[1] != mode[0]:
            item["mig_pending"] = mode[1]
    return item


def _absent(*_args: Any) -> None:
    raise AttributeError("not in this pynvml")


def _read_mig(pynvml: ModuleType, handle: Any) -> list[Raw]:
    """Memory of each MIG instance that exists on a card in MIG mode (empty slots raise NotFound: skipped)."""
    instances = []
    for slot in range(_query(pynvml.nvmlDeviceGetMaxMigDeviceCount, handle) or 0):
        mig = _query(pynvml.nvmlDeviceGetMigDeviceHandleByIndex, handle, slot)
        if mig is None:
            continue
        memory = _query(pynvml.nvmlDeviceGetMemoryInfo, mig)
        instances.append({"slot": slot, "name": _query(pynvml.nvmlDeviceGetName, mig),
                          "memory_total_bytes": getattr(memory, "total", None),
                          "memory_free_bytes": getattr(memory, "free", None)})
    return instances


_ERRORS = {
    "import": "NVIDIA: the nvidia-ml-py package is not importable",
    "NVMLError_LibraryNotFound": "NVIDIA: NVML library not found (is the NVIDIA driver installed?)",
    "NVMLError_DriverNotLoaded": "NVIDIA: the NVIDIA driver is not loaded",
    "NVMLError_NoPermission": "NVIDIA: no permission to query the GPU driver",
    "NVMLError_LibRmVersionMismatch": "NVIDIA: driver and NVML library versions differ (reboot after an upgrade?)",
}


_DEVICE_ERRORS = {
    "NVMLError_GPUIsLost": "has fallen off the bus (NVMLError_GPUIsLost: see dmesg; reseat the card or reboot)",
    "NVMLError_NoPermission": "cannot be queried: permission denied (NVMLError_NoPermission)",
}


def parse(raw: Raw) -> tuple[tuple[Device, ...], tuple[str, ...]]:
    """Devices and notes from read()'s data; a card in MIG mode gives one device per MIG instance."""
    error = raw.get("error")
    if error is not None:
        return (), (_error_note(raw, error),)
    devices: list[Device] = []
    notes = [f"NVIDIA: could not count the GPUs ({raw['count_error']})"] if raw.get("count_error") else []
    for item in raw.get("devices", []):
        found, note = _devices_of(item, raw)
        devices += found
        notes += note
    if not devices and not notes:
        notes.append("NVIDIA: the driver reports no GPU")
    return tuple(devices), tuple(notes)


def _error_note(raw: Raw, error: str) -> str:
    note = _ERRORS.get(error, f"NVIDIA: NVML failed ({error}: {raw.get('detail', '')})")
    if raw.get("wsl_lib") and error in {"import", "NVMLError_LibraryNotFound"}:
        note += (f"; WSL2: {raw['wsl_lib']} (the Windows driver's NVML) exists but was not loaded; "
                 "install nvidia-ml-py and put /usr/lib/wsl/lib on LD_LIBRARY_PATH")
    return f"{note}; no NVIDIA GPU used"


def _devices_of(item: Raw, raw: Raw) -> tuple[list[Device], list[str]]:
    index = item.get("index")
    notes = [f"NVIDIA: GPU {index} has a MIG mode change pending (reset the GPU to apply it)"] \
        if "mig_pending" in item else []
    if item.get("mig") is not None:
        found, mig_notes = _mig_devices(item, raw)
        return found, notes + mig_notes
    device = _device(item, raw)
    if device is None:
        reason = _DEVICE_ERRORS.get(str(item.get("error")), "could not be read")
        return [], [*notes, f"NVIDIA: GPU {index} {reason}; skipped"]
    return [device], notes


def _mig_devices(item: Raw, raw: Raw) -> tuple[list[Device], list[str]]:
    """One device per MIG instance, each with its own memory; bandwidth scaled by its share of the card's memory."""
    card = item.get("name") or "GPU"
    label = f"NVIDIA: GPU {item.get('index')} ({card}) is in MIG mode"
    instances = [m for m in item["mig"] if m.get("memory_total_bytes")]
    if not instances:
        return [], [f"{label} but has no MIG instances; skipped"]
    parent = _device(item, raw)
    devices = [_mig_device(m, item, parent) for m in instances]
    return devices, [f"{label}: its {len(devices)} MIG instance(s) are listed as separate devices"]


def _mig_device(mig: Raw, item: Raw, parent: Device | None) -> Device:
    total = int(mig["memory_total_bytes"])
    name = str(mig.get("name") or f"{item.get('name') or 'NVIDIA GPU'} MIG {mig.get('slot')}")
    if parent is None:
        return Device(name=name, vendor="nvidia", kind="discrete", memory_total_bytes=total,
                      memory_free_bytes=mig.get("memory_free_bytes"), index=int(item.get("index", 0)))
    share = total / parent.memory_total_bytes
    bandwidth = parent.bandwidth_gbps * share if parent.bandwidth_gbps else None
    basis = f"{parent.bandwidth_basis} x {share:.3f} (MIG share of memory)" if bandwidth else None
    return replace(parent, name=name, memory_total_bytes=total, memory_free_bytes=mig.get("memory_free_bytes"),
                   bandwidth_gbps=bandwidth, bandwidth_basis=basis)


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
