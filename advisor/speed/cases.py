"""Published measurements as the speed model sees them: one Case per usable run, with the Work the estimator computes
for it, and the one prediction every fit and every validation makes of it (the shipped lookup and formula on the lane
`advisor estimate` uses). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise

from advisor.engines import engine_for, run_backend
from advisor.estimate.allreduce import tensor_split_s
from advisor.estimate.constants import SpeedTable, speed_family, speed_key
from advisor.estimate.current import predating_step
from advisor.estimate.estimator import Estimator, Request
from advisor.estimate.speed import (
    Work,
    cpu_tflops,
    decode_tokens_per_s,
    make_lane,
    prefill_tflops,
    prefill_tokens_per_s,
    split_tensors,
)
from advisor.estimate.weights import resized, weight_kind
from advisor.specs import Defaults
from advisor.specs.facts import Catalog
from advisor.specs.measured import ExpertTiles, FittedClass, Measurement, SpeedFit

_SIZE_COLUMN = re.compile(r"\|\s*(\d+(?:\.\d+)?)\s*GiB\s*\|")
MIN_DEVICES = 2  # a backend gets a factor of its own (per_backend) when its informing rows come from this many devices


@dataclass(frozen=True, slots=True)
class Case:
    """A measurement with what the speed model needs: the device's backend, class and figures, and the Work."""

    m: Measurement
    group: str  # the device left out together (device id, or the CPU's name)
    backend: str
    device_class: str
    gpu_id: str | None
    bandwidth_gbps: float
    tflops: float | None
    work: Work
    weight: float = 1.0  # in the decode fit: 1, except in the variant that weighs recent builds more
    tensor_parallel: int = 1  # GPUs splitting every layer (a vLLM run on several GPUs), 1: one lane
    sync_s: float = 0.0  # with tensor parallelism: a decode step's all-reduces per layer (allreduce.tensor_split_s)
    transfer_s_per_token: float = 0.0  # ... and a prompt token's all-reduce bytes
    family: str | None = None  # estimate.constants.speed_family of the GPU (a chip generation, an architecture)
    pass_tokens: int | None = None  # prompt tokens one prefill pass reads (pass_tokens); None: not known
    prefill_by_family: bool = True  # prefill efficiency per family like decode's (False: per backend:class, before)

    @property
    def key(self) -> str:
        """backend:family or backend:class whose decode constants apply (estimate.constants.speed_key)."""
        return speed_key(self.backend, self.device_class, self.family)

    @property
    def prefill_key(self) -> str:
        """backend:family or backend:class whose prefill efficiency applies: the same key as decode's (a prefill is
        the architecture's matmul kernels, as a decode is its memory path)."""
        return self.key if self.prefill_by_family else f"{self.backend}:{self.device_class}"

    @property
    def moe(self) -> bool:
        return self.work.moe


def predict(table: SpeedTable, c: Case) -> float | None:
    """The shipped estimate of one measurement: the table's constants on one lane, the shipped formula."""
    lane = make_lane(c.group, 1.0, c.bandwidth_gbps, c.tflops, table.constants(c.backend, c.device_class, c.family),
                     experts=c.work.experts_per_token, cores=c.m.cpu_threads)
    if c.tensor_parallel > 1:
        lane = split_tensors(lane, c.tensor_parallel, c.sync_s, c.transfer_s_per_token)
    if c.m.kind == "decode":
        return decode_tokens_per_s(c.work, (lane,))
    return prefill_tokens_per_s(c.work.flops_per_token, (lane,), c.work.expert_flops_per_token,
                                c.work.attention_flops_per_token, expert_tokens(c), c.work.weight_kind,
                                c.work.cache_bytes)


def _flag_values(m: Measurement, *names: str) -> list[str]:
    """The values a run's flags give any of `names` (`-ub 512`, `--ubatch-size=512`), in order."""
    words = (m.flags or "").replace("=", " ").split()
    return [value for flag, value in pairwise(words) if flag in names]


def pass_tokens(m: Measurement, defaults: Defaults) -> int:
    """The prompt tokens a run's prefill reads per forward pass: its -ub (llama.cpp's default where not given),
    at most the test's tokens."""
    given = [int(w) for w in _flag_values(m, "-ub", "--ubatch-size") if w.isdigit()]
    return min(m.tokens, given[-1] if given else defaults.ubatch_tokens)


def expert_tokens(c: Case) -> float | None:
    """Tokens of a pass each routed expert gets, on average (0 for a dense model; None: the pass is not known)."""
    return None if c.pass_tokens is None else c.pass_tokens * c.work.expert_batch_share


def cases(catalog: Catalog) -> tuple[list[Case], list[tuple[Measurement, str]]]:
    """Measurements the model can predict, and the skipped ones with the reason."""
    est = Estimator(catalog)
    kept, skipped = [], []
    for m in catalog.measurements:
        case, why = _case(m, est)
        if case is None:
            skipped.append((m, why))
        else:
            kept.append(case)
    return kept, skipped


def _skip_reason(m: Measurement, catalog: Catalog) -> str | None:
    stated = _stated_reason(m, catalog)
    if stated:
        return stated
    if m.quant not in catalog.recipes:
        return f"file type {m.quant} has no recipe"
    if not catalog.recipes[m.quant].listed:  # i-quants etc.: sized, but their kernels have no speed term yet
        return f"file type {m.quant} is sized but not fitted (not a listed type)"
    flagged = _flag_reason(m)
    if flagged:
        return flagged
    if m.ngl is not None and 0 <= m.ngl < catalog.model(m.model).arch.layers and m.device != "cpu":
        return "partial offload (-ngl below the layer count)"
    return None


def _stated_reason(m: Measurement, catalog: Catalog) -> str | None:
    """The run's own exclusion, or the step in llama.cpp's speed (catalog/build_steps.yaml) that it predates."""
    if m.exclude:
        return f"excluded: {m.exclude}"
    step = predating_step(m, catalog)
    if step is None:
        return None
    return (f"measured before a step in llama.cpp's {step.kind} speed ({step.from_month}): {step.what} "
            f"({step.source}); advisor estimates a current build")


def _flag_reason(m: Measurement) -> str | None:
    if m.flags and any(flag in m.flags for flag in ("-ot", "cpu-moe", "n-cpu-moe")):
        return "expert offload: not a full-GPU run"
    if split_mode(m) == "row":
        return "llama.cpp's row split (-sm row): removed from its CUDA and ROCm builds (PR 24216, 2026-06)"
    return None


def _case(m: Measurement, est: Estimator) -> tuple[Case | None, str]:
    catalog = est.catalog
    reason = _skip_reason(m, catalog)
    if reason:
        return None, reason
    model, recipe = catalog.model(m.model), catalog.recipe(m.quant)
    weights = est.weights(model, recipe)
    stated = stated_file_bytes(m)
    if stated:  # the run's own file: llama-bench prints its size
        weights = resized(weights, stated)
    if m.device == "cpu":
        tflops = cpu_tflops(m.cpu_threads, m.cpu_simd_bits) if m.cpu_threads and m.cpu_simd_bits else None
        if m.kind == "decode" and not m.ram_bandwidth_gbps:
            return None, "CPU decode run without a stated RAM bandwidth"
        if m.kind == "prefill" and tflops is None:
            return None, "CPU prefill run without its thread count and SIMD width"
        device: tuple[str, str, str | None, float, float | None] = (
            f"cpu:{m.cpu}", "cpu", None, m.ram_bandwidth_gbps or 0.0, tflops)
    else:
        gpu = catalog.gpu(m.device)
        if not gpu.bandwidth_gbps:
            return None, "device bandwidth unknown"
        if weights.weights_bytes > gpu.memory_bytes * m.device_count:
            return None, "the weights exceed the GPU memory: the run spilled to system memory"
        # an iGPU's memory is the machine's RAM: a run that states its RAM's bandwidth was measured at that, not at
        # the catalog's figure for the chip's usual memory
        bandwidth = m.ram_bandwidth_gbps if gpu.kind == "unified" and m.ram_bandwidth_gbps else gpu.bandwidth_gbps
        device = (gpu.id, gpu.device_class, gpu.id, bandwidth,
                  prefill_tflops(m.backend, gpu.fp16_tflops, gpu.int8_tops, gpu.vendor))
    depth = m.depth_tokens + m.tokens // 2
    kv = est.kv(model, Request(context_tokens=max(depth, 1)), max(depth, 1))
    group, device_class, gpu_id, bandwidth, tflops = device
    engine = engine_for(recipe.runtime)
    absorbed = engine.absorbed_mla and m.engine == engine.name  # ik_llama.cpp's -mla 3 prefills in the MHA form
    case = Case(m, group, _backend(m, catalog), device_class, gpu_id, bandwidth, tflops,
                est.work(model, weights, kv, depth, weight_kind(recipe, catalog.types), absorbed),
                family=speed_family(catalog.gpu(gpu_id)) if gpu_id else None,
                pass_tokens=pass_tokens(m, catalog.defaults))
    if m.device_count > 1 and gpu_id and (engine.tensor_parallel or split_mode(m) == "tensor"):  # estimate's lane
        sync, transfer = tensor_split_s(catalog.defaults, catalog.gpu(gpu_id), m.device_count, model.arch.hidden_size,
                                        model.arch.layers, engine.allreduce_element_bytes)
        case = replace(case, tensor_parallel=m.device_count, sync_s=sync, transfer_s_per_token=transfer)
    return case, ""


def stated_file_bytes(m: Measurement) -> int | None:
    """The size of the file a llama-bench run measured, from its quoted table row's size column ("| 16.39 GiB |"), to
    the 0.01 GiB it prints; None where the quote states none (MLX, llama-server and summary rows) and for
    ik_llama.cpp, whose table prints another size for the same file."""
    found = _SIZE_COLUMN.search(m.quote) if m.engine == "llama.cpp" else None
    return round(float(found.group(1)) * 2**30) if found else None


def split_mode(m: Measurement) -> str:
    """A llama.cpp run's -sm / --split-mode (layer where not given)."""
    return next(iter(_flag_values(m, "-sm", "--split-mode")), "layer")


def _backend(m: Measurement, catalog: Catalog) -> str:
    """The constants backend of a run (engines.run_backend), "cpu" for a CPU-only run."""
    if m.device == "cpu":
        return "cpu"
    gpu = catalog.gpu(m.device)
    return run_backend(m.backend, gpu.vendor, gpu.device_class)


def fit_table(defaults: Defaults, decode: dict[str, FittedClass] | None = None,
              prefill: dict[str, float] | None = None, moe: tuple[float, dict[str, float]] = (0.0, {}),
              ratio: tuple[float, dict[str, float]] = (1.0, {}), compute: float | None = None,
              attention: dict[str, float] | None = None, tiles: ExpertTiles | None = None,
              weights: dict[str, float] | None = None) -> SpeedTable:
    """A SpeedTable of these constants alone, for a fit's in-sample errors (no bands, no serving prefill)."""
    return SpeedTable(SpeedFit(decode or {}, prefill or {}, moe[0], ratio[0], {}, {}, 0, 0, moe[1], ratio[1],
                               compute, attention_prefill_ratio_by_backend=attention or {},
                               moe_prefill_tiles=tiles, weight_prefill_ratio=weights or {}), defaults)


def per_backend(rows: list[Case], key_of: Callable[[Case], str], grid: tuple[float, ...],
                error: Callable[[list[Case], str, float], float],
                informs: Callable[[Case], bool] = lambda c: c.moe) -> dict[str, float]:
    """A factor of its own, by grid search on its rows, for each backend whose rows that inform it (MoE rows, by
    default) come from MIN_DEVICES devices or more."""
    out = {}
    for backend in sorted({key_of(c).split(":", 1)[0] for c in rows}):
        own = [c for c in rows if key_of(c).startswith(f"{backend}:")]
        if len({c.group for c in own if informs(c)}) >= MIN_DEVICES:
            out[backend] = min(grid, key=lambda x: error(own, backend, x))
    return out


def period(rows: list[Case]) -> str:
    """The builds' dates, first to last (year-month), of the rows that state one."""
    dates = sorted(c.m.date[:7] for c in rows if c.m.date)
    if not dates:
        return ""
    return dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
