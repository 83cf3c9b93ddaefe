"""Speed of a placed estimate under its engine: constants per lane, error ranges, published measurements of the same
device, model and file type, and the user's own calibration. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from advisor.engines import Engine
from advisor.estimate.allreduce import allreduce_link, tensor_split_s
from advisor.estimate.arrivals import graphed_tokens, prefill_budget
from advisor.estimate.constants import Constants, SpeedTable, speed_family
from advisor.estimate.machine import Machine, device_tflops, llama_threads
from advisor.estimate.placement import Placement
from advisor.estimate.speed import (
    Lane,
    MeasuredSpeed,
    SpeedEstimate,
    Work,
    cpu_tflops,
    decode_tokens_per_s,
    estimate_speed,
    make_lane,
    split_tensors,
)
from advisor.specs import ModelSpec, QuantRecipe
from advisor.specs.measured import LocalCalibration

LaneSet = tuple[tuple[Lane, ...], tuple[Constants, ...]] | None  # lanes() and the constants used; None: unknown
MeasuredIndex = Mapping[tuple[str, str, str, int, str], Mapping[str, MeasuredSpeed]]
MeasuredLookup = Callable[[], MeasuredIndex]  # built on first use: a CPU-only machine never reads measurements


def lane_shape(placement: Placement, cpu_read_share: float | None) -> tuple[object, ...]:
    """All that lanes() reads of a placement: models placed alike on one machine get the same lanes."""
    total = sum(placement.gpu_bytes) or 1
    return (placement.kind, placement.gpu_fraction, tuple(b / total for b in placement.gpu_bytes), cpu_read_share,
            placement.tensor_split)


def lanes(placement: Placement, machine: Machine, engine: Engine, table: SpeedTable, experts: int,
          cpu_read_share: float | None = None, split: tuple[int, int] = (0, 0)) -> LaneSet:
    """One lane per GPU and one for the CPU; with --n-cpu-moe the GPUs keep every layer's fixed cost and the CPU
    streams `cpu_read_share` of the bytes read per token (the active experts of its layers). The GPUs of a
    tensor-parallel engine or of llama.cpp's -sm tensor make one lane (tensor_parallel_lane; `split`: the model's
    hidden size and layers, for its all-reduces). It reads the placement only through lane_shape()."""
    out: list[Lane] = []
    used: list[Constants] = []
    gpu_bytes_share = placement.gpu_fraction if cpu_read_share is None else 1.0 - cpu_read_share
    if placement.kind in ("gpu", "gpu+cpu"):
        total = sum(placement.gpu_bytes) or 1
        for dev, share in zip(machine.devices, placement.gpu_bytes, strict=True):
            backend = engine.backend(dev.device.vendor, dev.speed_class)
            if dev.bandwidth_gbps is None or backend is None:
                return None
            gpu_id = dev.spec.id if dev.spec else None
            c = table.constants(backend, dev.speed_class, speed_family(dev.spec))
            layers = None if cpu_read_share is None else share / total
            # the passes matter only where a pass has a fixed time (the serving engines'); else one rate is enough
            budget = prefill_budget(table.defaults, engine.name, gpu_id, dev.device.memory_total_bytes) \
                if c.pass_times and engine.name in table.defaults.prefill_budget_tokens else None
            out.append(make_lane(dev.device.name, gpu_bytes_share * share / total, dev.bandwidth_gbps,
                                 device_tflops(dev, backend), c, experts=experts, layer_share=layers,
                                 calibration=_factor(table, engine, gpu_id or dev.device.name), budget_tokens=budget,
                                 graphed_tokens=graphed_tokens(table.defaults, engine.name) if budget else 0))
            used.append(c)
    if (engine.tensor_parallel or placement.tensor_split) and placement.kind == "gpu" and len(out) > 1:
        out = [tensor_parallel_lane(out, machine, table, split, engine.allreduce_element_bytes)]
    if placement.kind in ("gpu+cpu", "cpu"):
        c = table.constants("cpu", "cpu")
        out.append(make_lane("CPU (system RAM)", 1.0 - gpu_bytes_share, machine.ram_bandwidth_gbps,
                             machine_cpu_tflops(machine), c, experts=experts, cores=llama_threads(machine.hardware),
                             layer_share=None if cpu_read_share is None else 0.0, prefill=placement.kind == "cpu",
                             calibration=_factor(table, engine, "cpu")))
        used.append(c)
    return tuple(out), tuple(used)


def tensor_parallel_lane(gpus: list[Lane], machine: Machine, table: SpeedTable, split: tuple[int, int],
                         element_bytes: int) -> Lane:
    """n GPUs splitting every layer (vLLM's tensor parallelism, which `serve` prices the same way, and llama.cpp's
    -sm tensor): each reads 1/n of the bytes and computes 1/n of the FLOPs at once, every layer's fixed time is paid
    once, plus each layer's two all-reduces (estimate.allreduce.tensor_split_s; not counted where the link is not in
    the catalog, as serve does)."""
    sync, transfer = tensor_split_s(table.defaults, machine.devices[0].spec, len(gpus), *split, element_bytes)
    return split_tensors(gpus[0], len(gpus), sync, transfer)


def _link_known(machine: Machine, table: SpeedTable) -> bool:
    return allreduce_link(table.defaults, machine.devices[0].spec if machine.devices else None) is not None


def machine_cpu_tflops(machine: Machine) -> float | None:
    """The CPU's vector throughput (speed.cpu_tflops) from llama.cpp's threads (machine.llama_threads) and SIMD
    width; None when the core count is unknown."""
    cores = llama_threads(machine.hardware)
    return cpu_tflops(cores, machine.cpu_simd_bits) if cores else None


def _factor(table: SpeedTable, engine: Engine, device: str) -> float | None:
    """The user's decode factor for one device under `engine` (calibration covers llama.cpp only)."""
    local = table.local.get(device) if engine.name == "llama.cpp" else None
    return None if local is None else local.decode_factor


def speed_for(model: ModelSpec, recipe: QuantRecipe, work: Work, placement: Placement, found: LaneSet, *,
              machine: Machine, engine: Engine, table: SpeedTable, measured: MeasuredLookup, notes: list[str],
              prompt: tuple[int, Work] | None = None) -> SpeedEstimate:
    """Decode and prefill for a placed estimate on its lanes (`found`: lanes() of this placement), with ranges,
    measurements and local calibration; with `prompt` (its tokens and their work), prefill is the rate over it."""
    if placement.kind == "none":
        return SpeedEstimate(None, None, None)
    if found is None:
        notes.append("no speed estimate: a device's memory bandwidth is unknown")
        return SpeedEstimate(None, None, None)
    speed = estimate_speed(work, found[0], offloaded=placement.kind == "gpu+cpu", used=found[1], prompt=prompt,
                           pass_tokens=table.defaults.ubatch_tokens)
    if placement.kind == "cpu" and speed.prefill_tokens_per_s is not None:
        notes.append(f"CPU prefill from its vector throughput: {machine.cpu_basis}")
    if any(lane.tensor_parallel > 1 for lane in found[0]) and not _link_known(machine, table):
        notes.append("the GPUs' all-reduces are not counted: the catalog has no figure for this GPU's link "
                     "(catalog/defaults.yaml allreduce_*)")
    speed = _locally_calibrated(speed, machine, table, placement, engine)
    return _measured(speed, model, recipe, machine, measured, placement, engine)


def decode_for(work: Work, placement: Placement, found: LaneSet, *, machine: Machine, engine: Engine,
               table: SpeedTable) -> float | None:
    """Decode tokens/s alone (what choosing between file types needs): the same lanes, formula and calibration as
    speed_for, without the basis, prefill and ranges."""
    if placement.kind == "none" or found is None:
        return None
    local, _ = local_calibration(machine, table, placement, engine)
    return decode_tokens_per_s(work, found[0]) * ((local.decode_factor or 1.0) if local else 1.0)


def local_calibration(machine: Machine, table: SpeedTable, placement: Placement,
                      engine: Engine) -> tuple[LocalCalibration | None, str]:
    """The user's own llama-bench factors that apply (llama.cpp): a GPU's when every GPU used is the calibrated
    device and the model is all on it, the CPU's ("cpu", from runs with n_gpu_layers 0) when it runs on the CPU
    alone; and the words for the basis."""
    if engine.name != "llama.cpp":
        return None, ""
    if placement.kind == "cpu":
        return table.local.get("cpu"), "for the CPU "
    if placement.kind == "gpu":
        keys = {d.spec.id if d.spec else d.device.name for d in machine.devices}
        return (table.local.get(next(iter(keys))) if len(keys) == 1 and "cpu" not in keys else None), ""
    return None, ""


def _locally_calibrated(speed: SpeedEstimate, machine: Machine, table: SpeedTable, placement: Placement,
                        engine: Engine) -> SpeedEstimate:
    """Scale by the user's own llama-bench factors where they apply (local_calibration)."""
    local, where = local_calibration(machine, table, placement, engine)
    if speed.basis is None or local is None:
        return speed
    d, p = local.decode_factor or 1.0, local.prefill_factor or 1.0

    def scale(value: float | None, k: float) -> float | None:
        return None if value is None else value * k

    def scale2(value: tuple[float, float] | None, k: float) -> tuple[float, float] | None:
        return None if value is None else (value[0] * k, value[1] * k)

    note = (f"calibrated locally {where}on {local.rows} llama-bench runs ({local.source}): decode x{d:.2f}, "
            f"prefill x{p:.2f}")
    return replace(speed, decode_tokens_per_s=scale(speed.decode_tokens_per_s, d),
                   prefill_tokens_per_s=scale(speed.prefill_tokens_per_s, p),
                   decode_range_tokens_per_s=scale2(speed.decode_range_tokens_per_s, d),
                   prefill_range_tokens_per_s=scale2(speed.prefill_range_tokens_per_s, p),
                   basis=replace(speed.basis, constants=(*speed.basis.constants, note), confidence=note),
                   calibrated=True)


def _measured(speed: SpeedEstimate, model: ModelSpec, recipe: QuantRecipe, machine: Machine,
              index: MeasuredLookup, placement: Placement, engine: Engine) -> SpeedEstimate:
    """A published tg128 / pp512 of this very device, model, file type and backend, shown beside the estimate."""
    ids = {d.spec.id if d.spec else "" for d in machine.devices}
    if placement.kind != "gpu" or len(ids) != 1 or "" in ids:
        return speed
    dev = machine.devices[0]
    backend = engine.backend(dev.device.vendor, dev.speed_class)
    found = index().get((ids.pop(), model.id, recipe.name, len(machine.devices), backend or ""), {})
    if not found:
        return speed
    return replace(speed, measured_decode=found.get("tg128"), measured_prefill=found.get("pp512"))
