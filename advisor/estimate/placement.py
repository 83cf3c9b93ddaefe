"""Where a model's bytes go: all on GPU, split GPU + system RAM, CPU only, or nowhere. Pure.

Search order follows llama.cpp: all layers on the GPUs (split in proportion to usable memory); for MoE models the
routed experts of the first N layers to system RAM with N as small as it can be (--n-cpu-moe N, dense weights and
KV stay on the GPU); whole layers to system RAM (-ngl K, discrete GPUs only); CPU only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

PlacementKind = Literal["gpu", "gpu+cpu", "cpu", "none"]


@dataclass(frozen=True, slots=True)
class Placement:
    kind: PlacementKind
    gpu_bytes: tuple[int, ...]  # per device, in device order
    cpu_bytes: int
    gpu_fraction: float  # share of the model's layers (weights + cache) held on the GPUs
    reason: str
    n_cpu_moe: int = 0  # MoE layers whose routed experts stay in system RAM (llama.cpp --n-cpu-moe)
    tensor_split: bool = False  # the GPUs split every layer's tensors (llama.cpp -sm tensor), not whole layers


def place(*, layer_bytes: int, gpu_overhead_bytes: int, cpu_overhead_bytes: int,
          gpu_usable: tuple[int, ...], unified: bool, ram_usable: int,
          expert_bytes_per_layer: int = 0, moe_layers: int = 0) -> Placement:
    """Place `layer_bytes` (weights + KV + state) plus overheads on the machine.

    gpu_overhead_bytes is charged once per GPU used; cpu_overhead_bytes when the CPU computes.
    expert_bytes_per_layer / moe_layers describe a MoE model's routed experts, for --n-cpu-moe.
    """
    free = tuple(max(0, u - gpu_overhead_bytes) for u in gpu_usable)
    if gpu_usable and layer_bytes <= sum(free):
        shares = tuple(round(layer_bytes * f / sum(free)) for f in free)
        return Placement("gpu", tuple(s + gpu_overhead_bytes for s in shares), 0, 1.0,
                         "fits in GPU memory")
    if gpu_usable and not unified and expert_bytes_per_layer and sum(free) > 0:
        moe = _expert_offload(layer_bytes, free, gpu_overhead_bytes, cpu_overhead_bytes, ram_usable,
                              expert_bytes_per_layer, moe_layers)
        if moe is not None:
            return moe
    if gpu_usable and not unified and sum(free) > 0:
        on_cpu = layer_bytes - sum(free)
        if on_cpu + cpu_overhead_bytes <= ram_usable:
            return Placement("gpu+cpu", gpu_usable, on_cpu + cpu_overhead_bytes, sum(free) / layer_bytes,
                             "layers beyond GPU memory run from system RAM")
    if layer_bytes + cpu_overhead_bytes <= ram_usable:
        why = "exceeds the GPU's usable memory; runs on the CPU" if gpu_usable else "runs on the CPU"
        return Placement("cpu", (), layer_bytes + cpu_overhead_bytes, 0.0, why)
    return Placement("none", (), 0, 0.0, "needs more than GPU memory and usable system RAM together")


def _expert_offload(layer_bytes: int, free: tuple[int, ...], gpu_overhead: int, cpu_overhead: int,
                    ram_usable: int, per_layer: int, moe_layers: int) -> Placement | None:
    """The smallest N whose experts, moved to system RAM, let everything else fit on the GPUs."""
    room = sum(free)
    needed = -(-(layer_bytes - room) // per_layer)  # ceil: layers of experts that must leave the GPUs
    if needed > moe_layers or needed * per_layer + cpu_overhead > ram_usable:
        return None
    on_gpu = layer_bytes - needed * per_layer
    shares = tuple(round(on_gpu * f / room) + gpu_overhead for f in free)
    return Placement("gpu+cpu", shares, needed * per_layer + cpu_overhead, on_gpu / layer_bytes,
                     f"routed experts of {needed} of {moe_layers} MoE layers run from system RAM (--n-cpu-moe)",
                     n_cpu_moe=needed)


def tensor_split(placement: Placement, notes: list[str]) -> Placement:
    """llama.cpp's -sm tensor where it applies: every GPU holds its slice of every layer's tensors (and of the KV
    cache, by attention head) and they run at once. It needs two GPUs or more and the whole model on them (llama.cpp's
    --fit does not run in tensor mode); elsewhere a note says so and the layer split stands."""
    why = "--split-mode tensor needs two GPUs or more" if len(placement.gpu_bytes) < 2 else \
        "--split-mode tensor needs the whole model on the GPUs" if placement.kind != "gpu" else None
    if why:
        notes.append(f"{why}: the layer split is shown")
        return placement
    return replace(placement, tensor_split=True, reason=f"{placement.reason} (tensor split)")
