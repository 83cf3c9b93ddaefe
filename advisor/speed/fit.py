"""Fit the speed constants to published measurements. Pure.

The model fitted is advisor.estimate's, not a copy: each measurement becomes a Case holding the Work the estimator
computes for it (advisor.estimate.speed.work_for, with the estimator's own weights and KV), and every prediction —
in-sample here, leave-one-device-out in advisor.speed.validate — looks its constants up through the shipped
SpeedTable and runs the shipped formula on one lane. The fit returns a SpeedFit, the type catalog/speed_fit.yaml
holds, rounded as that file stores it, so what is validated is what ships.

decode: seconds/token = bytes/(stream_efficiency x bandwidth) + per_layer_s x layers x (1 + c x routed experts per
        token), fitted per backend:class by least squares on relative error with a light pull toward the starting
        values; the per-expert cost c (0 for a dense model's layers) is a grid search shared by all backends (a
        per-backend variant and a flat per-MoE-layer factor are compared in docs/accuracy.md).
prefill: tokens/s = efficiency x fp16_tflops / work, work = FLOPs with the routed-expert part divided by the MoE
         prefill ratio; the efficiency per backend:class (median) and the ratio (grid search) fitted together.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace

from advisor.engines import engine_for
from advisor.estimate.constants import SpeedTable, expert_prefill_ratio, speed_key
from advisor.estimate.estimator import Estimator, Request
from advisor.estimate.lanes import tensor_sync_s
from advisor.estimate.speed import (
    Work,
    core_seconds,
    cpu_tflops,
    decode_tokens_per_s,
    make_lane,
    prefill_tflops,
    prefill_tokens_per_s,
    split_tensors,
)
from advisor.specs import Defaults
from advisor.specs.facts import Catalog
from advisor.specs.measured import FittedClass, Measurement, SpeedFit

# each routed expert per token adds this share of a dense layer's fixed cost to a MoE model's layers
MOE_FACTORS = tuple(round(0.05 * i, 2) for i in range(17))  # 0 .. 0.8, evenly (no hand-picked points)
# a backend's own factor may range wider: its MoE kernels (fused on CUDA, not on every other backend) set it
BACKEND_MOE_FACTORS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
# the flat variant: a MoE layer's fixed cost is 1 + this of a dense layer's, whatever its top-k
FLAT_MOE_FACTORS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
MOE_MIN_DEVICES = 2
PREFILL_RATIOS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
# CPU decode: GFLOPs a thread gets through per second at most (SpeedFit.cpu_decode_gflops_per_core); None: RAM
# bandwidth alone. An even grid on a log scale (10 to ~280), picked like the MoE factor
CPU_COMPUTE = (None, *(round(10 * 1.25 ** i, 1) for i in range(16)))
PRIOR_WEIGHT = 0.05


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
    sync_s: float = 0.0  # with tensor parallelism: the all-reduces' time per layer (estimate.lanes.tensor_sync_s)

    @property
    def key(self) -> str:
        """backend:class whose decode constants apply (Apple split by generation)."""
        return speed_key(self.backend, self.device_class, self.gpu_id)

    @property
    def prefill_key(self) -> str:
        return f"{self.backend}:{self.device_class}"

    @property
    def moe(self) -> bool:
        return self.work.moe


def predict(table: SpeedTable, c: Case) -> float | None:
    """The shipped estimate of one measurement: the table's constants on one lane, the shipped formula."""
    lane = make_lane(c.group, 1.0, c.bandwidth_gbps, c.tflops, table.constants(c.backend, c.device_class, c.gpu_id),
                     experts=c.work.experts_per_token, cores=c.m.cpu_threads)
    if c.tensor_parallel > 1:
        lane = split_tensors(lane, c.tensor_parallel, c.sync_s)
    if c.m.kind == "decode":
        return decode_tokens_per_s(c.work, (lane,))
    return prefill_tokens_per_s(c.work.flops_per_token, (lane,), c.work.expert_flops_per_token)


@dataclass(frozen=True, slots=True)
class Prior:
    a: float  # 1 / stream efficiency
    tau_s: float


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
    if m.exclude:
        return f"excluded: {m.exclude}"
    if m.quant not in catalog.recipes:
        return f"file type {m.quant} has no recipe"
    if not catalog.recipes[m.quant].listed:  # i-quants etc.: sized, but their kernels have no speed term yet
        return f"file type {m.quant} is sized but not fitted (not a listed type)"
    if m.flags and any(flag in m.flags for flag in ("-ot", "cpu-moe", "n-cpu-moe", "-sm row", "-sm tensor")):
        return "expert offload or tensor split: not a full-GPU layer-split run"
    if m.ngl is not None and 0 <= m.ngl < catalog.model(m.model).arch.layers and m.device != "cpu":
        return "partial offload (-ngl below the layer count)"
    return None


def _case(m: Measurement, est: Estimator) -> tuple[Case | None, str]:
    catalog = est.catalog
    reason = _skip_reason(m, catalog)
    if reason:
        return None, reason
    model = catalog.model(m.model)
    weights = est.weights(model, catalog.recipe(m.quant))
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
        device = (gpu.id, gpu.device_class, gpu.id, gpu.bandwidth_gbps,
                  prefill_tflops(m.backend, gpu.fp16_tflops, gpu.int8_tops))
    depth = m.depth_tokens + m.tokens // 2
    kv = est.kv(model, Request(context_tokens=max(depth, 1)), max(depth, 1))
    group, device_class, gpu_id, bandwidth, tflops = device
    case = Case(m, group, _backend(m, catalog), device_class, gpu_id, bandwidth, tflops,
                est.work(model, weights, kv, depth))
    engine = engine_for(m.engine) if m.engine in ("mlx", "vllm") else None
    if m.device_count > 1 and engine is not None and engine.tensor_parallel:  # the lane the estimate prices it on
        sync = tensor_sync_s(catalog.defaults, gpu_id, m.device_count, model.arch.hidden_size)
        case = replace(case, tensor_parallel=m.device_count, sync_s=sync)
    return case, ""


def _backend(m: Measurement, catalog: Catalog) -> str:
    """The constants backend of a run: its own (cuda, metal, mlx ...), vLLM's per vendor (vllm, vllm-rocm)."""
    if m.device == "cpu":
        return "cpu"
    if m.backend != "vllm":
        return m.backend
    gpu = catalog.gpu(m.device)
    return engine_for("vllm").backend(gpu.vendor, gpu.device_class) or m.backend


def _fit_decode(rows: list[Case], moe_factor: float, prior: Prior,
                compute: float | None = None) -> tuple[float, float]:
    """Least squares on relative error of a x stream + tau x fixed layers, pulled lightly toward `prior`; stream is
    bytes/bw, or on a CPU the larger of that and (its threads' time for the FLOPs at `compute` GFLOP/s each) / a."""
    sxx = sxy = syy = sx = sy = 0.0
    for c in rows:
        t = 1.0 / c.m.tokens_per_s
        x = _stream_seconds(c, compute, prior.a) / c.tensor_parallel / t
        y = c.work.layers * (1 + moe_factor * c.work.experts_per_token) / t
        r = 1.0 - c.work.layers * c.sync_s / t  # the share of the time the constants explain (less the all-reduces)
        k = c.weight
        sxx, sxy, syy, sx, sy = sxx + k * x * x, sxy + k * x * y, syy + k * y * y, sx + k * x * r, sy + k * y * r
    tau_scale = max(prior.tau_s, 1e-5)
    w = PRIOR_WEIGHT
    # prior terms: w*((a - a0)/a0)^2 + w*((tau - tau0)/tau_scale)^2
    a00, a11 = sxx + w / prior.a**2, syy + w / tau_scale**2
    b0, b1 = sx + w / prior.a, sy + w * prior.tau_s / tau_scale**2
    det = a00 * a11 - sxy * sxy
    a, tau = (b0 * a11 - b1 * sxy) / det, (a00 * b1 - sxy * b0) / det
    if tau < 0:
        tau, a = 0.0, b0 / a00
    if a < 1.0:
        a, tau = 1.0, max(0.0, (b1 - sxy) / a11)
    return a, tau


def _stream_seconds(c: Case, compute: float | None, a: float) -> float:
    """speed.decode_seconds' stream time of one lane, over a (1 / stream efficiency): bytes over bandwidth, or on a
    CPU whose threads are the tighter limit, their time for the FLOPs at `compute` GFLOP/s each (taken at the
    prior's efficiency `a`, so that the least squares stays linear)."""
    stream = c.work.bytes_per_token / (c.bandwidth_gbps * 1e9)
    if compute and c.backend == "cpu" and c.m.cpu_threads:
        stream = max(stream, core_seconds(c.work.flops_per_token, c.m.cpu_threads, compute) / a)
    return stream


@dataclass(frozen=True, slots=True)
class Variant:
    """How much of the MoE treatment a fit uses. docs/accuracy.md compares them under the same leave-one-device-out
    procedure; factors per backend validate worse than shared ones on today's measurements (too few MoE runs per
    backend), so the shipped fit shares them."""

    moe_factors: tuple[float, ...] = MOE_FACTORS
    per_backend: bool = True
    flat_moe: bool = False  # one cost per MoE layer whatever its top-k (the model before issue 14): rows count 1 expert
    half_life_years: float | None = None  # weigh a build this much older than the newest half as much (recency)
    cpu_compute: tuple[float | None, ...] = CPU_COMPUTE  # (None,): CPU decode bound by RAM bandwidth alone

    def rows(self, rows: list[Case]) -> list[Case]:
        """The rows as this variant sees them."""
        if self.flat_moe:
            rows = [replace(c, work=replace(c.work, experts_per_token=1)) if c.moe else c for c in rows]
        if self.half_life_years:
            newest = max((_months(c.m.date) for c in rows if c.m.date), default=0)
            rows = [replace(c, weight=0.5 ** ((newest - _months(c.m.date)) / 12 / self.half_life_years))
                    if c.m.date else c for c in rows]
        return rows


def _months(date: str | None) -> int:
    """'2025-08' (or '2025') as months since year 0."""
    parts = (date or "0").split("-")
    return int(parts[0]) * 12 + (int(parts[1]) - 1 if len(parts) > 1 and parts[1].isdigit() else 6)


SHIPPED = Variant(per_backend=False)


def fit(rows: list[Case], defaults: Defaults, variant: Variant = SHIPPED) -> SpeedFit:
    """Constants for every backend:class with data, as a SpeedFit (no error bands: those come from validation)."""
    decode_rows = [c for c in rows if c.m.kind == "decode"]
    shared = min(variant.moe_factors, key=lambda f: _decode_error(decode_rows, {}, f, defaults))
    by_backend = {} if not variant.per_backend else _per_backend(
        decode_rows, lambda c: c.key, BACKEND_MOE_FACTORS,
        lambda own, b, f: _decode_error(own, {b: f}, shared, defaults))
    cpu = [c for c in decode_rows if c.backend == "cpu"]
    compute = min(variant.cpu_compute, key=lambda k: _decode_error(cpu, by_backend, shared, defaults, k, mean=True))
    decode = _fit_keys(decode_rows, by_backend, shared, defaults, compute)
    prefill_rows = [c for c in rows if c.m.kind == "prefill" and c.tflops]
    # the MoE ratio from GPU runs: a few CPU MoE runs would swing the median it is picked on
    ratio, ratios = _fit_ratios([c for c in prefill_rows if c.backend != "cpu"], defaults, variant.per_backend)
    return SpeedFit(decode, _prefill_efficiency(prefill_rows, ratio, ratios), shared, ratio, {}, {},
                    len(rows), len({c.group for c in rows}), by_backend, ratios, compute)


def _fit_keys(rows: list[Case], by_backend: dict[str, float], shared: float,
              defaults: Defaults, compute: float | None = None) -> dict[str, FittedClass]:
    out = {}
    for key in sorted({c.key for c in rows}):
        own = [c for c in rows if c.key == key]
        a, tau = _fit_decode(own, by_backend.get(key.split(":", 1)[0], shared), prior_for(key, defaults), compute)
        out[key] = FittedClass(round(1 / a, 4), round(tau, 8), len(own), len({c.group for c in own}), period(own))
    return out


def period(rows: list[Case]) -> str:
    """The builds' dates, first to last (year-month), of the rows that state one."""
    dates = sorted(c.m.date[:7] for c in rows if c.m.date)
    if not dates:
        return ""
    return dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"


def _table(defaults: Defaults, decode: dict[str, FittedClass] | None = None, prefill: dict[str, float] | None = None,
           moe: tuple[float, dict[str, float]] = (0.0, {}), ratio: tuple[float, dict[str, float]] = (1.0, {}),
           compute: float | None = None) -> SpeedTable:
    return SpeedTable(SpeedFit(decode or {}, prefill or {}, moe[0], ratio[0], {}, {}, 0, 0, moe[1], ratio[1],
                               compute), defaults)


def _decode_error(rows: list[Case], by_backend: dict[str, float], shared: float, defaults: Defaults,
                  compute: float | None = None, *, mean: bool = False) -> float:
    """Median relative error, in sample, of the decode fits for every backend:class in `rows` with these factors
    (the median, so that a few runs of an old build do not set a factor for everyone; `mean` for the CPU's compute
    ratio, which only the few-thread runs inform)."""
    if not rows:
        return 0.0
    table = _table(defaults, _fit_keys(rows, by_backend, shared, defaults, compute), moe=(shared, by_backend),
                   compute=compute)
    errors = [abs((predict(table, c) or 0.0) / c.m.tokens_per_s - 1) for c in rows]
    return statistics.fmean(errors) if mean else statistics.median(errors)


def _fit_ratios(rows: list[Case], defaults: Defaults, per_backend: bool) -> tuple[float, dict[str, float]]:
    """The routed-expert matmuls' prefill ratio: a grid search on the median error (shared, then per backend if
    asked), the efficiency refitted at each candidate."""
    if not any(c.moe for c in rows):
        return 0.25, {}
    shared = min(PREFILL_RATIOS, key=lambda r: _prefill_error(rows, r, {}, defaults))
    by_backend = {} if not per_backend else _per_backend(
        rows, lambda c: c.prefill_key, PREFILL_RATIOS, lambda own, b, r: _prefill_error(own, shared, {b: r}, defaults))
    return shared, by_backend


def _per_backend(rows: list[Case], key_of: Callable[[Case], str], grid: tuple[float, ...],
                 error: Callable[[list[Case], str, float], float]) -> dict[str, float]:
    """A factor of its own, by grid search on its rows, for each backend whose MoE rows come from enough devices."""
    out = {}
    for backend in sorted({key_of(c).split(":", 1)[0] for c in rows}):
        own = [c for c in rows if key_of(c).startswith(f"{backend}:")]
        if len({c.group for c in own if c.moe}) >= MOE_MIN_DEVICES:
            out[backend] = min(grid, key=lambda x: error(own, backend, x))
    return out


def _prefill_efficiency(rows: list[Case], shared: float, by_backend: dict[str, float]) -> dict[str, float]:
    """Per backend:class, the median over its rows of the efficiency each implies at its MoE prefill ratio."""
    def work(c: Case) -> float:
        ratio = expert_prefill_ratio(c.backend, shared, by_backend) if c.moe else 1.0
        w = c.work
        return w.flops_per_token - w.expert_flops_per_token + w.expert_flops_per_token / ratio

    return {key: round(statistics.median(c.m.tokens_per_s * work(c) / (c.tflops or 1.0) / 1e12
                                         for c in rows if c.prefill_key == key), 4)
            for key in sorted({c.prefill_key for c in rows})}


def _prefill_error(rows: list[Case], shared: float, by_backend: dict[str, float], defaults: Defaults) -> float:
    table = _table(defaults, prefill=_prefill_efficiency(rows, shared, by_backend), ratio=(shared, by_backend))
    return statistics.median(abs((predict(table, c) or 0.0) / c.m.tokens_per_s - 1) for c in rows)


def prior_for(key: str, defaults: Defaults) -> Prior:
    """The starting values in defaults.yaml for a backend:class, the prior every decode fit is pulled toward."""
    start = defaults.speed_classes.get(key.rsplit(":", maxsplit=1)[-1])
    if start is None:
        return Prior(1 / 0.85, 0.00005)
    return Prior(1 / start.stream_efficiency, start.per_layer_s)
