"""Estimate one model on a machine, and pick + rank what fits. Pure.

Ranking is described in docs/ranking.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from advisor.catalog import Catalog
from advisor.errors import UsageError
from advisor.estimate.kv import KvEstimate, estimate_kv
from advisor.estimate.memory import MemoryEstimate, compute_buffer_bytes, estimate_memory
from advisor.estimate.placement import Placement, place
from advisor.estimate.speed import Lane, MeasuredSpeed, SpeedEstimate, attention_flops, estimate_speed
from advisor.estimate.weights import WeightEstimate, estimate_weights
from advisor.lanes import Constants, band_range, constants
from advisor.machine import Machine
from advisor.specs import ModelSpec, QuantRecipe
from advisor.uses import UseScore, eligible, use_score
from advisor.uses import sort_key as score_sort_key

T = TypeVar("T")
INTERACTIVE_TOKENS_PER_S = 10.0  # below this, chat feels slow (docs/ranking.md)
_PLACEMENT_ORDER = {"gpu": 0, "gpu+cpu": 1, "cpu": 2, "none": 3}


@dataclass(frozen=True, slots=True)
class Request:
    context_tokens: int = 8192
    depth_tokens: int = 0
    kv_cache_type: str = "F16"
    use: str | None = None  # coding | reasoning | general | vision | long-context (advisor.uses)


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


def estimate(model: ModelSpec, recipe: QuantRecipe, machine: Machine, catalog: Catalog,
             request: Request) -> Estimate:
    """Memory, placement and speed of one model in one file type on `machine`."""
    d = catalog.defaults
    notes: list[str] = []
    context = request.context_tokens
    limit = model.arch.max_context_tokens
    if limit is not None and context > limit:
        context = limit
        notes.append(f"context capped at the model's maximum, {context} tokens")
    elif limit is None:
        notes.append("the model's maximum context is not in the catalog; not checked")
    weights = _memo(catalog, ("weights", model.id, recipe.name),
                    lambda: estimate_weights(model, recipe, catalog.types))
    kv = _memo(catalog, ("kv", model.id, request.kv_cache_type, str(context)),
               lambda: estimate_kv(model, catalog.types[request.kv_cache_type], context_tokens=context,
                                   ubatch_tokens=d.ubatch_tokens, pad_tokens=d.kv_pad_tokens))
    backend = machine.devices[0].backend if machine.devices else "cpu"
    buffer = compute_buffer_bytes(model, d)
    placement = place(layer_bytes=weights.weights_bytes + kv.total_bytes,
                      gpu_overhead_bytes=d.runtime_context_bytes.get(backend, 0) + buffer,
                      cpu_overhead_bytes=buffer, gpu_usable=tuple(x.memory_usable_bytes for x in machine.devices),
                      unified=machine.unified, ram_usable=machine.ram_usable_bytes)
    on_gpu = placement.kind in ("gpu", "gpu+cpu") or (placement.kind == "none" and bool(machine.devices))
    memory = estimate_memory(model, weights, kv, d, backend=backend if on_gpu else "cpu",
                             devices=len(machine.devices) if on_gpu else 0)
    speed = _speed(model, weights, kv, placement, machine=machine, catalog=catalog, depth=request.depth_tokens,
                   notes=notes)
    speed = _measured(speed, model, recipe, machine, catalog, placement)
    score = use_score(model, request.use) if request.use else None
    return Estimate(model, recipe, context, weights, kv, memory, placement, speed, tuple(notes), score)


def _memo(catalog: Catalog, key: tuple[str, ...], compute: Callable[[], T]) -> T:
    """A pure function of catalog facts, computed once per catalog."""
    if key not in catalog.memo:
        catalog.memo[key] = compute()
    value: T = catalog.memo[key]
    return value


def _lanes(placement: Placement, machine: Machine, catalog: Catalog,
           moe: bool) -> tuple[tuple[Lane, ...], tuple[Constants, ...]] | None:
    d, fit = catalog.defaults, catalog.speed_fit
    layer_factor = (fit.moe_layer_cost_factor if fit else d.moe_layer_cost_factor) if moe else 1.0
    prefill_factor = (fit.moe_prefill_factor if fit else d.moe_prefill_factor) if moe else 1.0
    lanes: list[Lane] = []
    used: list[Constants] = []
    if placement.kind in ("gpu", "gpu+cpu"):
        total = sum(placement.gpu_bytes) or 1
        for dev, share in zip(machine.devices, placement.gpu_bytes, strict=True):
            if dev.bandwidth_gbps is None:
                return None
            c = constants(fit, d, dev.backend, dev.speed_class)
            prefill = None if c.prefill_efficiency is None else c.prefill_efficiency * prefill_factor
            lanes.append(Lane(dev.device.name, placement.gpu_fraction * share / total, dev.bandwidth_gbps,
                              c.stream_efficiency, c.per_layer_s * layer_factor, dev.fp16_tflops, prefill))
            used.append(c)
    if placement.kind in ("gpu+cpu", "cpu"):
        c = constants(fit, d, "cpu", "cpu")
        lanes.append(Lane("CPU (system RAM)", 1.0 - placement.gpu_fraction, machine.ram_bandwidth_gbps,
                          c.stream_efficiency, c.per_layer_s * layer_factor, None, None))
        used.append(c)
    return tuple(lanes), tuple(used)


def _speed(model: ModelSpec, weights: WeightEstimate, kv: KvEstimate, placement: Placement, *, machine: Machine,
           catalog: Catalog, depth: int, notes: list[str]) -> SpeedEstimate:
    if placement.kind == "none":
        return SpeedEstimate(None, None, None)
    found = _lanes(placement, machine, catalog, model.is_moe)
    if found is None:
        notes.append("no speed estimate: a device's memory bandwidth is unknown")
        return SpeedEstimate(None, None, None)
    lanes, used = found
    speed = estimate_speed(weights_read_bytes=weights.read_per_token_bytes, kv=kv, depth_tokens=depth,
                           layers=model.arch.layers, active_params=model.params_active or model.params_total,
                           lanes=lanes, offloaded=placement.kind != "gpu",
                           attention_flops_per_token=attention_flops(model, depth))
    return _locally_calibrated(_with_ranges(speed, used), machine, catalog, placement)


def _locally_calibrated(speed: SpeedEstimate, machine: Machine, catalog: Catalog,
                        placement: Placement) -> SpeedEstimate:
    """Scale by the user's own llama-bench factors when every GPU used is the calibrated device."""
    keys = {d.spec.id if d.spec else d.device.name for d in machine.devices}
    local = catalog.local_calibration.get(next(iter(keys))) if len(keys) == 1 else None
    if local is None or placement.kind != "gpu" or speed.basis is None:
        return speed
    d, p = local.decode_factor or 1.0, local.prefill_factor or 1.0

    def scale(value: float | None, k: float) -> float | None:
        return None if value is None else value * k

    def scale2(value: tuple[float, float] | None, k: float) -> tuple[float, float] | None:
        return None if value is None else (value[0] * k, value[1] * k)

    note = (f"calibrated locally on {local.rows} llama-bench runs ({local.source}): decode x{d:.2f}, "
            f"prefill x{p:.2f}")
    return replace(speed, decode_tokens_per_s=scale(speed.decode_tokens_per_s, d),
                   prefill_tokens_per_s=scale(speed.prefill_tokens_per_s, p),
                   decode_range_tokens_per_s=scale2(speed.decode_range_tokens_per_s, d),
                   prefill_range_tokens_per_s=scale2(speed.prefill_range_tokens_per_s, p),
                   basis=replace(speed.basis, constants=(*speed.basis.constants, note), confidence=note))


def _measured(speed: SpeedEstimate, model: ModelSpec, recipe: QuantRecipe, machine: Machine, catalog: Catalog,
              placement: Placement) -> SpeedEstimate:
    """A published tg128 / pp512 of this very device, model and file type, shown beside the estimate."""
    ids = {d.spec.id if d.spec else None for d in machine.devices}
    if placement.kind != "gpu" or len(ids) != 1 or None in ids:
        return speed
    device = ids.pop()
    found: dict[str, MeasuredSpeed] = {}
    for m in catalog.measurements:
        if (m.device, m.model, m.quant, m.depth_tokens, m.device_count) == (
                device, model.id, recipe.name, 0, len(machine.devices)) and m.test in ("tg128", "pp512"):
            found.setdefault(m.test, MeasuredSpeed(m.tokens_per_s, m.test, m.source, m.quote))
    return replace(speed, measured_decode=found.get("tg128"), measured_prefill=found.get("pp512"))


def _with_ranges(speed: SpeedEstimate, used: tuple[Constants, ...]) -> SpeedEstimate:
    """Attach the error band of the lanes' constants (the widest one when several apply)."""
    decode_band = max((c.decode_band for c in used if c.decode_band), key=lambda b: b.high - b.low, default=None)
    prefill_band = max((c.prefill_band for c in used if c.prefill_band), key=lambda b: b.high - b.low, default=None)
    basis = speed.basis
    if basis is not None:
        basis = replace(basis, constants=tuple(dict.fromkeys(c.basis for c in used)),
                        confidence="fitted to published measurements; range = leave-one-device-out error band"
                        if any(c.decode_band for c in used) else basis.confidence)
    return replace(speed, basis=basis,
                   decode_range_tokens_per_s=band_range(speed.decode_tokens_per_s, decode_band),
                   prefill_range_tokens_per_s=band_range(speed.prefill_tokens_per_s, prefill_band))


def candidate_recipes(model: ModelSpec, catalog: Catalog) -> tuple[QuantRecipe, ...]:
    """File types considered for `model`: its native format if it ships one, else the common GGUF mixes."""
    if model.native_quant:
        return (catalog.recipe(model.native_quant),)
    return tuple(sorted((r for r in catalog.recipes.values() if r.recommend and r.runtime == "llama.cpp"),
                        key=lambda r: -r.quality_rank))


def estimate_recipes(model: ModelSpec, machine: Machine, catalog: Catalog,
                     quant: str | None = None) -> tuple[QuantRecipe, ...]:
    """File types `advisor estimate` shows: the one asked for, else every one that applies here."""
    if model.native_quant:
        native = catalog.recipe(model.native_quant)
        if quant is not None and catalog.recipe(quant) is not native:
            msg = (f"{model.name} is published as {native.name}; other file types are not sized for it "
                   f"(use --quant {native.name} or leave --quant out)")
            raise UsageError(msg)
        return (native,)
    if quant is not None:
        return (catalog.recipe(quant),)
    apple = any(d.device.vendor == "apple" for d in machine.devices)
    return tuple(sorted((r for r in catalog.recipes.values() if r.runtime != "mlx" or apple),
                        key=lambda r: -r.quality_rank))


def _choice_key(e: Estimate, catalog: Catalog) -> tuple[int, int]:
    """Lower is better: full GPU at Q3_K_M or better, then offload at Q4_K_M or below, then the rest."""
    q3 = catalog.recipe("Q3_K_M").quality_rank
    q4 = catalog.recipe("Q4_K_M").quality_rank
    rank, native = e.recipe.quality_rank, e.model.native_quant is not None
    kind = e.placement.kind
    if kind == "gpu":
        tier = 0 if rank >= q3 or native else 2
    elif kind == "gpu+cpu":
        tier = 1 if native or q3 <= rank <= q4 else 3
    elif kind == "cpu":
        tier = 4 if rank <= q4 or native else 5
    else:
        tier = 9
    return tier, -rank if tier != 9 else rank


def best_estimate(model: ModelSpec, machine: Machine, catalog: Catalog, request: Request) -> Estimate:
    """The file type and placement a person with this machine should use for `model`."""
    options = [estimate(model, r, machine, catalog, request) for r in candidate_recipes(model, catalog)]
    return min(options, key=lambda e: _choice_key(e, catalog))


def rank_key(e: Estimate) -> tuple[int, int, tuple[int, float], int, int]:
    """Placement, then comfortable speed, then (with a use) the use's score, then size and quantization."""
    decode = e.speed.decode_tokens_per_s
    slow = 0 if decode is not None and decode >= INTERACTIVE_TOKENS_PER_S else 1
    return (_PLACEMENT_ORDER[e.placement.kind], slow, score_sort_key(e.use_score), -e.model.params_total,
            -e.recipe.quality_rank)


def recommend(machine: Machine, catalog: Catalog, request: Request) -> list[Estimate]:
    """Every catalog model's best option on `machine`, best first (for `request.use`, if given)."""
    models = [m for m in catalog.models if eligible(m, request.use)]
    return sorted((best_estimate(m, machine, catalog, request) for m in models), key=rank_key)
