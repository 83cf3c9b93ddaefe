"""Read the machine: NVIDIA GPUs (NVML), AMD and Intel GPUs (Linux sysfs), Apple unified memory, host CPU and RAM.

The only package that touches the machine. Each backend splits read() (I/O) from parse() (pure). probe() runs them
in order (NVIDIA, AMD, Intel, Apple; host last) and turns any failure, even an unexpected one, into a note.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from advisor.hardware.vendors import probes_for
from advisor.specs import Device, Hardware

Found = tuple[tuple[Device, ...], tuple[str, ...]]


def _run(label: str, module: str) -> Found:
    """One backend's devices and notes; an exception inside it becomes a note, never a traceback."""
    import importlib

    try:
        backend = importlib.import_module(f"advisor.hardware.{module}")
        found: Found = backend.parse(backend.read())
    except Exception as err:  # the probe must never crash the CLI: report and carry on with the others
        return (), (f"{label}: probe failed unexpectedly ({type(err).__name__}: {err}); skipped",)
    return found


def _host_raw(read: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], tuple[str, ...]]:
    try:
        return read(), ()
    except Exception as err:  # psutil missing or failing: no CPU/RAM figures, but still an answer
        return {}, (f"Host: CPU and RAM could not be read ({type(err).__name__}: {err})",)


def probe(*, gpus: bool = True, platform: str | None = None) -> Hardware:
    """Probe every backend (GPUs only when `gpus`); missing drivers and failures become notes, never exceptions."""
    from advisor.hardware import host

    platform = platform or sys.platform
    devices: tuple[Device, ...] = ()
    notes: tuple[str, ...] = ()
    for v in probes_for(platform) if gpus else ():
        found, found_notes = _run(v.label, v.probe)
        devices += found
        notes += found_notes
    if gpus and not platform.startswith("linux") and not devices:
        notes += ("AMD/Intel: GPUs are read from Linux sysfs and are not probed on this OS; name one with --gpu",)
    raw, host_notes = _host_raw(host.read)
    return host.parse(raw, devices=devices, notes=(*notes, *host_notes))
