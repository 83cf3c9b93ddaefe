"""The GPU vendors advisor knows: one registry read by the probes, `advisor doctor` and the machine builder.

Adding a vendor: a probe module in this package (read() I/O, parse() pure) and one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Vendor:
    id: str  # Device.vendor and GpuSpec.vendor
    label: str  # how notes name it
    probe: str  # module in advisor.hardware with read() and parse(raw)
    platforms: tuple[str, ...]  # sys.platform prefixes where the probe runs ("" = everywhere)
    llama_cpp_backend: str  # llama.cpp's GPU backend on this vendor's cards (speed constants are fitted per backend)


VENDORS: Final = (
    Vendor("nvidia", "NVIDIA", "nvml", ("",), "cuda"),
    Vendor("amd", "AMD", "amd", ("linux",), "rocm"),
    Vendor("intel", "Intel", "intel", ("linux",), "sycl"),
    Vendor("apple", "Apple", "apple", ("darwin",), "metal"),
)
FALLBACK_BACKEND: Final = "vulkan"  # llama.cpp's backend for any other GPU (and a custom --gpu SIZE@BW)
HOST_PROBE: Final = "host"  # CPU and RAM, probed last on every machine


_BY_ID: Final = {v.id: v for v in VENDORS}
_LLAMA_CPP: Final = {v.id: v.llama_cpp_backend for v in VENDORS}


def vendor(vendor_id: str) -> Vendor | None:
    return _BY_ID.get(vendor_id)


def llama_cpp_backend(vendor_id: str) -> str:
    return _LLAMA_CPP.get(vendor_id, FALLBACK_BACKEND)


def probes_for(platform: str) -> tuple[Vendor, ...]:
    """The vendors whose probe runs on `platform` (a sys.platform value), in probing order."""
    return tuple(v for v in VENDORS if any(platform.startswith(p) for p in v.platforms))
