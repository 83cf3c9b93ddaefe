"""Speed of a placed estimate: fitted constants, error ranges, published measurements, local calibration. Pure."""

from __future__ import annotations

from dataclasses import replace

from advisor.estimate.constants import Constants, band_range, constants
from advisor.estimate.kv import KvEstimate
from advisor.estimate.machine import Machine
from advisor.estimate.placement import Placement
from advisor.estimate.speed import Lane, MeasuredSpeed, SpeedEstimate, attention_flops, estimate_speed
from advisor.estimate.weights import WeightEstimate, active_expert_params
from advisor.specs import ModelSpec, QuantRecipe
from advisor.specs.facts import Catalog


def _lanes(placement: Placement, machine: Machine, catalog: Catalog, moe: bool,
           cpu_read_share: float | None = None) -> tuple[tuple[Lane, ...], tuple[Constants, ...]] | None:
    """One lane per GPU and one for the CPU; with --n-cpu-moe the GPUs keep every layer's fixed cost and the CPU
    streams `cpu_read_share` of the bytes read per token (the active experts of its layers)."""
    d, fit = catalog.defaults, catalog.speed_fit

    def layer_factor(backend: str) -> float:
        return (fit.moe_layer_cost(backend) if fit else d.moe_layer_cost_factor) if moe else 1.0

    def prefill_factor(backend: str) -> float:
        return (fit.moe_prefill(backend) if fit else d.moe_prefill_factor) if moe else 1.0

    lanes: list[Lane] = []
    used: list[Constants] = []
    gpu_bytes_share = placement.gpu_fraction if cpu_read_share is None else 1.0 - cpu_read_share
    gpu_layer_share = None if cpu_read_share is None else 1.0
    if placement.kind in ("gpu", "gpu+cpu"):
        total = sum(placement.gpu_bytes) or 1
        for dev, share in zip(machine.devices, placement.gpu_bytes, strict=True):
            if dev.bandwidth_gbps is None:
                return None
            c = constants(fit, d, dev.backend, dev.speed_class, dev.spec.id if dev.spec else None)
            layers = None if gpu_layer_share is None else gpu_layer_share * share / total
            lanes.append(Lane(dev.device.name, gpu_bytes_share * share / total, dev.bandwidth_gbps, c.stream_efficiency,
                              c.per_layer_s * layer_factor(dev.backend), dev.fp16_tflops, c.prefill_efficiency,
                              layers, prefill_factor(dev.backend)))
            used.append(c)
    if placement.kind in ("gpu+cpu", "cpu"):
        c = constants(fit, d, "cpu", "cpu")
        lanes.append(Lane("CPU (system RAM)", 1.0 - gpu_bytes_share, machine.ram_bandwidth_gbps,
                          c.stream_efficiency, c.per_layer_s * layer_factor("cpu"), None, None,
                          None if cpu_read_share is None else 0.0))
        used.append(c)
    return tuple(lanes), tuple(used)


def speed_for(model: ModelSpec, recipe: QuantRecipe, weights: WeightEstimate, kv: KvEstimate, placement: Placement,
              *, machine: Machine, catalog: Catalog, depth: int, notes: list[str]) -> SpeedEstimate:
    """Decode and prefill for a placed estimate, with ranges, measurements and local calibration."""
    speed = _speed(model, weights, kv, placement, machine=machine, catalog=catalog, depth=depth, notes=notes)
    return _measured(speed, model, recipe, machine, catalog, placement)


def _speed(model: ModelSpec, weights: WeightEstimate, kv: KvEstimate, placement: Placement, *, machine: Machine,
           catalog: Catalog, depth: int, notes: list[str]) -> SpeedEstimate:
    if placement.kind == "none":
        return SpeedEstimate(None, None, None)
    cpu_share = None
    if placement.n_cpu_moe and model.moe is not None:
        active = model.moe.experts_per_token / model.moe.experts
        cpu_read = placement.n_cpu_moe / model.moe.moe_layers * weights.routed_expert_bytes * active
        cpu_share = cpu_read / weights.read_per_token_bytes
    found = _lanes(placement, machine, catalog, model.is_moe, cpu_share)
    if found is None:
        notes.append("no speed estimate: a device's memory bandwidth is unknown")
        return SpeedEstimate(None, None, None)
    lanes, used = found
    speed = estimate_speed(weights_read_bytes=weights.read_per_token_bytes, kv=kv, depth_tokens=depth,
                           layers=model.arch.layers, active_params=model.params_active or model.params_total,
                           lanes=lanes, offloaded=placement.kind != "gpu",
                           attention_flops_per_token=attention_flops(model, depth),
                           active_expert_params=active_expert_params(model))
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
    ids = {d.spec.id if d.spec else "" for d in machine.devices}
    if placement.kind != "gpu" or len(ids) != 1 or "" in ids:
        return speed
    index = catalog.memo.get(("measured-index",))
    if index is None:
        index = catalog.memo[("measured-index",)] = _measurement_index(catalog)
    found = index.get((ids.pop(), model.id, recipe.name, len(machine.devices)), {})
    if not found:
        return speed
    return replace(speed, measured_decode=found.get("tg128"), measured_prefill=found.get("pp512"))


def _measurement_index(catalog: Catalog) -> dict[tuple[str, str, str, int], dict[str, MeasuredSpeed]]:
    index: dict[tuple[str, str, str, int], dict[str, MeasuredSpeed]] = {}
    for m in catalog.measurements:
        if m.depth_tokens == 0 and m.test in ("tg128", "pp512"):
            slot = index.setdefault((m.device, m.model, m.quant, m.device_count), {})
            slot.setdefault(m.test, MeasuredSpeed(m.tokens_per_s, m.test, m.source, m.quote))
    return index


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


