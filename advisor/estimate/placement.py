"""Where a model's bytes go: all on GPU, split GPU + system RAM, CPU only, or nowhere. Pure.

Search order follows llama.cpp: all layers on the GPUs (split in proportion to usable memory),
then layer offload to system RAM (discrete GPUs only), then CPU only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PlacementKind = Literal["gpu", "gpu+cpu", "cpu", "none"]


@dataclass(frozen=True, slots=True)
class Placement:
    kind: PlacementKind
    gpu_bytes: tuple[int, ...]  # per device, in device order
    cpu_bytes: int
    gpu_fraction: float  # share of the model's layers (weights + cache) held on the GPUs
    reason: str


def place(*, layer_bytes: int, gpu_overhead_bytes: int, cpu_overhead_bytes: int,
          gpu_usable: tuple[int, ...], unified: bool, ram_usable: int) -> Placement:
    """Place `layer_bytes` (weights + KV + state) plus overheads on the machine.

    gpu_overhead_bytes is charged once per GPU used; cpu_overhead_bytes when the CPU computes.
    """
    free = tuple(max(0, u - gpu_overhead_bytes) for u in gpu_usable)
    if gpu_usable and layer_bytes <= sum(free):
        shares = tuple(round(layer_bytes * f / sum(free)) for f in free)
        return Placement("gpu", tuple(s + gpu_overhead_bytes for s in shares), 0, 1.0,
                         "fits in GPU memory")
    if gpu_usable and not unified and sum(free) > 0:
        on_cpu = layer_bytes - sum(free)
        if on_cpu + cpu_overhead_bytes <= ram_usable:
            return Placement("gpu+cpu", gpu_usable, on_cpu + cpu_overhead_bytes, sum(free) / layer_bytes,
                             "layers beyond GPU memory run from system RAM")
    if layer_bytes + cpu_overhead_bytes <= ram_usable:
        why = "exceeds the GPU's usable memory; runs on the CPU" if gpu_usable else "runs on the CPU"
        return Placement("cpu", (), layer_bytes + cpu_overhead_bytes, 0.0, why)
    return Placement("none", (), 0, 0.0, "needs more than GPU memory and usable system RAM together")
