"""Read the machine: NVIDIA GPUs (NVML), Apple unified memory, host CPU and RAM.

The only package that touches the machine. Each backend splits read() (I/O) from parse() (pure).
"""

from __future__ import annotations

import sys

from advisor.specs import Hardware


def probe(*, gpus: bool = True) -> Hardware:
    """Probe every backend (GPUs only when `gpus`); missing drivers become notes, never exceptions."""
    from advisor.hardware import host, nvml

    devices, notes = nvml.parse(nvml.read()) if gpus else ((), ())
    if gpus and sys.platform == "darwin":
        from advisor.hardware import apple

        apple_devices, apple_notes = apple.parse(apple.read())
        devices += apple_devices
        notes += apple_notes
    return host.parse(host.read(), devices=devices, notes=notes)
