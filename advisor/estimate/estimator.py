"""One model in one file type on one machine: memory, placement, speed. Pure.

Placement follows llama.cpp's --fit order (docs/estimation.md): all on the GPUs; a smaller context when the user
did not pin one; MoE experts of the first N layers to system RAM (--n-cpu-moe N); whole layers to system RAM
(-ngl K); CPU only; otherwise it does not fit (llama.cpp could still page the weights from disk with mmap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from advisor.estimate.kv import KvEstimate, estimate_kv
from advisor.estimate.lanes import speed_for
from advisor.estimate.machine import Machine
from advisor.estimate.memory import MemoryEstimate, compute_buffer_bytes, estimate_memory
from advisor.estimate.placement import Placement, place
from advisor.estimate.speed import SpeedEstimate
from advisor.estimate.weights import WeightEstimate, estimate_weights
from advisor.plan.uses import UseScore, use_score
from advisor.specs import ModelSpec, QuantRecipe
from advisor.specs.facts import Catalog

T = TypeVar("T")
MIN_AUTO_CONTEXT = 4096  # llama.cpp --fit shrinks an unpinned context no further than this


INTERACTIVE_TOKENS_PER_S = 10.0  # below this, chat feels slow (docs/ranking.md)


@dataclass(frozen=True, slots=True)
class Request:
    context_tokens: int = 8192
    depth_tokens: int = 0
    kv_cache_type: str = "F16"
    use: str | None = None  # coding | reasoning | general | vision | long-context (advisor.plan.uses)
    sequences: int = 1  # llama-server --parallel: slots sharing one unified KV cache
    context_pinned: bool = True  # False: the context may shrink to fit on the GPU, as llama.cpp --fit does


@dataclass(frozen=True, slots=True)
class Estimate:
    model: ModelSpec
    recipe: QuantRecipe
    context_tokens: int
    weights: WeightEstimate
    kv: KvEstimate
    memory: MemoryEstimate
    placement: Placement
    speed: SpeedEstimate
    notes: tuple[str, ...]
    use_score: UseScore | None = None
    max_gpu_context_tokens: int | None = None  # the longest context that still fits all on the GPUs
    sequences: int = 1


def estimate(model: ModelSpec, recipe: QuantRecipe, machine: Machine, catalog: Catalog,
             request: Request, weights: WeightEstimate | None = None) -> Estimate:
    """Memory, placement and speed of one model in one file type on `machine` (exact `weights` if known)."""
    context, weights, kv, placement, notes = fitted(model, recipe, machine, catalog, request, weights)
    on_gpu = placement.kind in ("gpu", "gpu+cpu") or (placement.kind == "none" and bool(machine.devices))
    backend = machine.devices[0].backend if machine.devices else "cpu"
    memory = estimate_memory(model, weights, kv, catalog.defaults, backend=backend if on_gpu else "cpu",
                             devices=len(machine.devices) if on_gpu else 0)
    speed = speed_for(model, recipe, weights, kv, placement, machine=machine, catalog=catalog,
                      depth=request.depth_tokens, notes=notes)
    score = use_score(model, request.use) if request.use else None
    return Estimate(model, recipe, context, weights, kv, memory, placement, speed, tuple(notes), score,
                    max_gpu_context(model, weights, machine, catalog, request), request.sequences)


def fitted(model: ModelSpec, recipe: QuantRecipe, machine: Machine, catalog: Catalog, request: Request,
           known: WeightEstimate | None = None) -> tuple[int, WeightEstimate, KvEstimate, Placement, list[str]]:
    """Context, weights, cache and placement (the cheap part of an estimate), with notes on what changed."""
    notes: list[str] = []
    context = request.context_tokens
    limit = model.arch.max_context_tokens
    if limit is not None and context > limit:
        context = limit
        notes.append(f"context capped at the model's maximum, {context} tokens")
    elif limit is None:
        notes.append("the model's maximum context is not in the catalog; not checked")
    weights = known or _memo(catalog, ("weights", model.id, recipe.name),
                             lambda: estimate_weights(model, recipe, catalog.types, catalog.recipes))
    kv, placement = _placed(model, weights, machine, catalog, request, context)
    while (placement.kind != "gpu" and not request.context_pinned and machine.devices
           and context // 2 >= max(MIN_AUTO_CONTEXT, request.depth_tokens)):
        smaller_kv, smaller = _placed(model, weights, machine, catalog, request, context // 2)
        if smaller.kind == "gpu":
            notes.append(f"context reduced from {context} to {context // 2} tokens to fit on the GPU "
                         "(pass --context to keep it)")
            context, kv, placement = context // 2, smaller_kv, smaller
        else:
            break
    if placement.kind == "none":
        notes.append("does not fit in GPU memory and RAM together; llama.cpp could still page the weights from disk "
                     "(mmap), at a small fraction of a token per second")
    return context, weights, kv, placement, notes


def _kv(model: ModelSpec, catalog: Catalog, request: Request, context: int) -> KvEstimate:
    d = catalog.defaults
    key = ("kv", model.id, request.kv_cache_type, str(context), str(request.sequences))
    return _memo(catalog, key, lambda: estimate_kv(model, catalog.types[request.kv_cache_type],
                                                   context_tokens=context, sequences=request.sequences,
                                                   ubatch_tokens=d.ubatch_tokens, pad_tokens=d.kv_pad_tokens))


def _placed(model: ModelSpec, weights: WeightEstimate, machine: Machine, catalog: Catalog, request: Request,
            context: int) -> tuple[KvEstimate, Placement]:
    d = catalog.defaults
    kv = _kv(model, catalog, request, context)
    backend = machine.devices[0].backend if machine.devices else "cpu"
    buffer = compute_buffer_bytes(model, d)
    experts = model.moe.moe_layers if model.moe else 0
    return kv, place(layer_bytes=weights.weights_bytes + kv.total_bytes,
                     gpu_overhead_bytes=d.runtime_context_bytes.get(backend, 0) + buffer, cpu_overhead_bytes=buffer,
                     gpu_usable=tuple(x.memory_usable_bytes for x in machine.devices), unified=machine.unified,
                     ram_usable=machine.ram_usable_bytes,
                     expert_bytes_per_layer=weights.routed_expert_bytes // experts if experts else 0,
                     moe_layers=experts)


def max_gpu_context(model: ModelSpec, weights: WeightEstimate, machine: Machine, catalog: Catalog,
                    request: Request) -> int | None:
    """The longest context (256-token steps, up to the model's maximum) that keeps everything on the GPUs.

    Memory beyond the weights grows by the full-attention layers' bytes per token; windowed layers and recurrent
    state are charged at their largest size.
    """
    if not machine.devices:
        return None
    d = catalog.defaults
    backend = machine.devices[0].backend
    overhead = d.runtime_context_bytes.get(backend, 0) + compute_buffer_bytes(model, d)
    room = sum(max(0, x.memory_usable_bytes - overhead) for x in machine.devices)
    cap = model.arch.max_context_tokens or 1_048_576
    largest = _kv(model, catalog, request, cap)
    fixed = weights.weights_bytes + largest.recurrent_state_bytes + largest.kv_cache_bytes \
        - largest.full_bytes_per_token * -(-cap // d.kv_pad_tokens) * d.kv_pad_tokens
    if largest.full_bytes_per_token == 0:
        return cap if fixed <= room else None
    tokens = (room - fixed) // largest.full_bytes_per_token // d.kv_pad_tokens * d.kv_pad_tokens
    return min(cap, int(tokens)) if tokens >= d.kv_pad_tokens else None


def _memo(catalog: Catalog, key: tuple[str, ...], compute: Callable[[], T]) -> T:
    """A pure function of catalog facts, computed once per catalog."""
    if key not in catalog.memo:
        catalog.memo[key] = compute()
    value: T = catalog.memo[key]
    return value


