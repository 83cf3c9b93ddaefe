"""Result objects -> JSON-ready dicts inside the versioned envelope (docs/json.md). The only serializer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from advisor.present.tables import cpu_time_share

if TYPE_CHECKING:
    from advisor.estimate.machine import Machine, MachineDevice
    from advisor.estimate.speed import MeasuredSpeed
    from advisor.plan.compare import Comparison, Plan
    from advisor.plan.recommend import Estimate
    from advisor.specs import ModelSpec

SCHEMA_VERSION = 1


def envelope(command: str, *, machine: Machine | None, results: list[dict[str, Any]] | None = None,
             errors: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "command": command,
            "hardware": hardware_dict(machine) if machine else None,
            "results": results or [], "errors": errors or [], **extra}


def error_dict(kind: str, message: str, exit_code: int) -> dict[str, Any]:
    return {"kind": kind, "message": message, "exit_code": exit_code}


def dumps(data: dict[str, Any], *, pretty: bool = True) -> str:
    """Keys sorted; indented for people, compact (and several times faster to write) for pipes and scripts."""
    if pretty:
        return json.dumps(data, indent=2, sort_keys=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def hardware_dict(machine: Machine) -> dict[str, Any]:
    hw = machine.hardware
    return {
        "source": hw.source,
        "devices": [device_dict(d) for d in machine.devices],
        "ram_total_bytes": hw.ram_total_bytes,
        "ram_available_bytes": hw.ram_available_bytes,
        "ram_usable_bytes": machine.ram_usable_bytes,
        "ram_limit_source": hw.ram_limit_source,
        "ram_bandwidth_gbps": machine.ram_bandwidth_gbps,
        "ram_bandwidth_basis": machine.ram_bandwidth_basis,
        "cpu": {"name": hw.cpu_name, "physical_cores": hw.cpu_physical_cores,
                "logical_cores": hw.cpu_logical_cores},
        "notes": list(machine.notes),
    }


def device_dict(d: MachineDevice) -> dict[str, Any]:
    dev = d.device
    return {
        "index": dev.index, "name": dev.name, "vendor": dev.vendor, "kind": dev.kind,
        "catalog_id": d.spec.id if d.spec else None,
        "memory_total_bytes": dev.memory_total_bytes, "memory_free_bytes": dev.memory_free_bytes,
        "memory_usable_bytes": d.memory_usable_bytes, "memory_usable_basis": d.usable_basis,
        "bandwidth_gbps": d.bandwidth_gbps, "bandwidth_basis": d.bandwidth_basis,
        "fp16_tflops": d.fp16_tflops, "speed_class": d.speed_class, "backend": d.backend,
        "compute_capability": dev.compute_capability, "driver_version": dev.driver_version,
        "cuda_version": dev.cuda_version, "gpu_cores": dev.gpu_cores,
        "wired_limit_bytes": dev.wired_limit_bytes,
    }


def estimate_dict(e: Estimate, depth_tokens: int = 0, commands: dict[str, str | None] | None = None) -> dict[str, Any]:
    m, mem, p = e.model, e.memory, e.placement
    return {
        "model": {"id": m.id, "name": m.name, "family": m.family, "params_total": m.params_total,
                  "params_active": m.params_active, "params_derived": m.params_derived, "moe": m.is_moe,
                  "max_context_tokens": m.arch.max_context_tokens},
        "quant": e.recipe.name,
        "runtime": e.recipe.runtime,
        "bits_per_weight": round(e.weights.bits_per_weight, 3),
        "context_tokens": e.context_tokens,
        "depth_tokens": depth_tokens,
        "kv_cache_type": e.kv.cache_type,
        "placement": p.kind,
        "placement_detail": {"gpu_bytes": list(p.gpu_bytes), "cpu_bytes": p.cpu_bytes,
                             "gpu_fraction": round(p.gpu_fraction, 4), "n_cpu_moe": p.n_cpu_moe,
                             "tensor_split": p.tensor_split, "reason": p.reason},
        "max_gpu_context_tokens": e.max_gpu_context_tokens,
        "memory": {
            "weights_bytes": mem.weights_bytes, "kv_cache_bytes": mem.kv_cache_bytes,
            "recurrent_state_bytes": mem.recurrent_state_bytes, "overhead_bytes": mem.overhead_bytes,
            "runtime_context_bytes": mem.runtime_context_bytes, "compute_buffer_bytes": mem.compute_buffer_bytes,
            "total_bytes": mem.total_bytes, "weights_by_group_bytes": dict(e.weights.groups_bytes),
        },
        "speed": speed_dict(e),
        "use_score": None if e.use_score is None else {
            "benchmark": e.use_score.benchmark, "value": e.use_score.value, "source": e.use_score.source},
        "commands": commands or {},
        "notes": list(e.notes),
    }


def speed_dict(e: Estimate) -> dict[str, Any]:
    """Speeds, their ranges and basis, and the share of the decode time on the CPU lane (tables mark rows where it
    is over half: present.tables.cpu_bound)."""
    s, b, share = e.speed, e.speed.basis, cpu_time_share(e)
    basis = None if b is None else {
        "method": b.method, "bytes_per_token": b.bytes_per_token, "weights_read_bytes": b.weights_read_bytes,
        "kv_read_bytes": b.kv_read_bytes, "depth_tokens": b.depth_tokens, "layers": b.layers,
        "flops_per_token": b.flops_per_token, "expert_flops_per_token": b.expert_flops_per_token,
        "attention_flops_per_token": b.attention_flops_per_token, "expert_tokens_per_pass": b.expert_tokens_per_pass,
        "cache_bytes_per_token": b.cache_bytes_per_token,
        "confidence": b.confidence, "notes": list(b.notes),
        "lanes": [{"name": lane.name, "share": round(lane.share, 4), "bandwidth_gbps": lane.bandwidth_gbps,
                   "stream_efficiency": lane.stream_efficiency, "per_layer_s": lane.per_layer_s,
                   "matrix_tflops": lane.matrix_tflops, "prefill_efficiency": lane.prefill_efficiency,
                   "expert_prefill_ratio": lane.expert_prefill_ratio,
                   "attention_prefill_ratio": lane.attention_prefill_ratio,
                   "prefill_per_layer_s": lane.prefill_per_layer_s,
                   "prefill_moe_layer_s": lane.prefill_moe_layer_s,
                   "prefill_budget_tokens": lane.prefill_budget_tokens,
                   "prefill_graphed_tokens": lane.prefill_graphed_tokens,
                   "prefill_request_s": lane.prefill_request_s, "tensor_parallel": lane.tensor_parallel,
                   "expert_batch_tokens": lane.expert_batch_tokens,
                   "transfer_s_per_token": lane.transfer_s_per_token, "cache_queries": lane.cache_queries}
                  for lane in b.lanes],
    }
    if basis is not None and b is not None:
        basis["constants"] = list(b.constants)
    return {"decode_tokens_per_s": _round(s.decode_tokens_per_s),
            "prefill_tokens_per_s": _round(s.prefill_tokens_per_s),
            "decode_range_tokens_per_s": _range(s.decode_range_tokens_per_s),
            "prefill_range_tokens_per_s": _range(s.prefill_range_tokens_per_s),
            "measured": {"decode": _measured(s.measured_decode), "prefill": _measured(s.measured_prefill)},
            "cpu_time_share": None if share is None else round(share, 3), "prompt_tokens": s.prompt_tokens,
            "time_to_first_token_s": _seconds(s.time_to_first_token_s), "basis": basis}


def _range(value: tuple[float, float] | None) -> list[float] | None:
    return None if value is None else [round(value[0], 1), round(value[1], 1)]


def _measured(m: MeasuredSpeed | None) -> dict[str, Any] | None:
    return None if m is None else {"tokens_per_s": m.tokens_per_s, "test": m.test, "backend": m.backend,
                                   "date": m.date, "source": m.source, "quote": m.quote}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def comparison_dict(result: Comparison) -> dict[str, Any]:
    """compare's envelope parts: one hardware block per machine, and per model one compact cell per machine."""
    assumed = result.ram_assumed or (False,) * len(result.machines)
    machines = [{"label": label, **hardware_dict(m), "ram_assumed": a,
                 "gpu_memory_total_bytes": sum(d.device.memory_total_bytes for d in m.devices)}
                for label, m, a in zip(result.labels, result.machines, assumed, strict=True)]
    results = [{"model": {"id": model.id, "name": model.name},
                "machines": [_cell(label, e) for label, e in zip(result.labels, estimates, strict=True)]}
               for model, estimates in result.rows]
    return {"machines": machines, "results": results, "summary": list(result.summary),
            "min_tokens_per_s": result.min_tokens_per_s, "total": result.total, "sort": result.sort}


def _cell(label: str, e: Estimate) -> dict[str, Any]:
    return {"machine": label, "quant": e.recipe.name, "placement": e.placement.kind,
            "context_tokens": e.context_tokens, "memory": {"total_bytes": e.memory.total_bytes},
            "speed": {"decode_tokens_per_s": _round(e.speed.decode_tokens_per_s),
                      "prefill_tokens_per_s": _round(e.speed.prefill_tokens_per_s),
                      "cpu_time_share": None if (share := cpu_time_share(e)) is None else round(share, 3)}}


def plan_dict(model: ModelSpec, result: Plan) -> dict[str, Any]:
    needs = [o.estimate.memory.total_bytes for o in result.options]
    results = [{"hardware": o.label, "gpu": {"id": o.gpu.id, "name": o.gpu.name, "vendor": o.gpu.vendor},
                "count": o.count, "memory_total_bytes": o.memory_bytes, "ram_bytes": o.ram_bytes,
                "price_usd": o.price_usd, **estimate_dict(o.estimate, commands=o.commands)}
               for o in result.options]
    return {"results": results, "model": {"id": model.id, "name": model.name},
            "min_tokens_per_s": result.min_tokens_per_s,
            "offload_min_tokens_per_s": result.offload_min_tokens_per_s,
            "total": result.total, "max_price_usd": result.max_price_usd, "vendor": result.vendor,
            "sort": result.sort,
            "min_memory_bytes": min(needs) if needs else None}
