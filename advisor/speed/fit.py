"""Fit the speed constants to published measurements. Pure.

The model fitted is advisor.estimate's, not a copy: each measurement becomes a Case holding the Work the estimator
computes for it (advisor.estimate.speed.work_for, with the estimator's own weights and KV), and every prediction —
in-sample here, leave-one-device-out in advisor.speed.validate — looks its constants up through the shipped
SpeedTable and runs the shipped formula on one lane. The fit returns a SpeedFit, the type catalog/speed_fit.yaml
holds, rounded as that file stores it, so what is validated is what ships.

decode: seconds/token = bytes/(stream_efficiency x bandwidth) + per_layer_s x layers x (1 + c x routed experts per
        token), fitted per backend:family (a GPU architecture, an Apple generation) or backend:class by least
        squares on relative error with a light pull toward a prior (a class's starting values; a family's kind's
        pooled fit; an integrated GPU's, its backend's discrete-GPU pool, as if that pool were one more device);
        the per-expert cost c (0 for a dense model's layers) is a grid search on the mean absolute log
        error, shared by all backends and, where a backend's MoE runs come from 2+ devices, its own (one shared
        cost, a flat per-MoE-layer factor and the median objective are compared in docs/accuracy.md).
prefill: advisor.speed.prefill_fit (efficiency per backend:class, the MoE, attention and weight-kind ratios, the
         cache term).
The measurements as cases, and the one prediction of each, are advisor.speed.cases.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace

from advisor.engines import TILED_EXPERT_PREFILL
from advisor.estimate.constants import APU_CLASS, ARCHITECTURE_CLASSES, family_pool
from advisor.estimate.speed import core_seconds
from advisor.specs import Defaults
from advisor.specs.measured import ExpertTiles, FittedClass, SpeedFit
from advisor.speed.cases import Case, fit_table, per_backend, period, predict
from advisor.speed.prefill_fit import CACHE_QUERIES, fit_prefill

# each routed expert per token adds this share of a dense layer's fixed cost to a MoE model's layers
MOE_FACTORS = tuple(round(0.05 * i, 2) for i in range(17))  # 0 .. 0.8, evenly (no hand-picked points)
# a backend's own factor may range wider: its MoE kernels (fused on CUDA, not on every other backend) set it
BACKEND_MOE_FACTORS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
# the flat variant: a MoE layer's fixed cost is 1 + this of a dense layer's, whatever its top-k
FLAT_MOE_FACTORS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
# CPU decode: GFLOPs a thread gets through per second at most (SpeedFit.cpu_decode_gflops_per_core); None: RAM
# bandwidth alone. An even grid on a log scale (10 to ~280), picked like the MoE factor
CPU_COMPUTE = (None, *(round(10 * 1.25 ** i, 1) for i in range(16)))
PRIOR_WEIGHT = 0.05


@dataclass(frozen=True, slots=True)
class Prior:
    a: float  # 1 / stream efficiency
    tau_s: float


def _fit_decode(rows: list[Case], moe_factor: float, prior: Prior,
                compute: float | None = None, weight: float = PRIOR_WEIGHT) -> tuple[float, float]:
    """Least squares on relative error of a x stream + tau x fixed layers, pulled toward `prior` as if it were
    `weight` runs; stream is bytes/bw, or on a CPU the larger of that and (its threads' time for the FLOPs at
    `compute` GFLOP/s each) / a."""
    sxx = sxy = syy = sx = sy = 0.0
    for c in rows:
        t = 1.0 / c.m.tokens_per_s
        x = _stream_seconds(c, compute, prior.a) / c.tensor_parallel / t
        y = c.work.layers * (1 + moe_factor * c.work.experts_per_token) / t
        r = 1.0 - c.work.layers * c.sync_s / t  # the share of the time the constants explain (less the all-reduces)
        k = c.weight
        sxx, sxy, syy, sx, sy = sxx + k * x * x, sxy + k * x * y, syy + k * y * y, sx + k * x * r, sy + k * y * r
    tau_scale = max(prior.tau_s, 1e-5)
    w = weight
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
    """What a fit uses; the defaults are the shipped fit (SHIPPED), and docs/accuracy.md compares each other choice
    under the same leave-one-device-out procedure. A term ships where it improves both the held-out median and 90th
    percentile, unless it is one model's factor in disguise (the MXFP4 files' prefill ratio, fitted on gpt-oss's
    runs: GLM-4.7-Flash's MXFP4 file prefills as its Q4_K_M does)."""

    moe_factors: tuple[float, ...] = MOE_FACTORS
    # decode: a backend's own per-expert cost where its MoE runs come from 2+ devices (else the shared one); with
    # round 13's runs it validates better than one shared cost (decode 9.51 % and 29.1 % against 9.54 % and 29.7 %)
    per_backend: bool = True
    # prefill: a backend's own MoE prefill ratio likewise (not shipped: 22.0 % against 19.7 % with round 16's runs, too
    # few MoE runs each)
    prefill_per_backend: bool = False
    flat_moe: bool = False  # one cost per MoE layer whatever its top-k (the model before issue 14): rows count 1 expert
    half_life_years: float | None = None  # weigh a build this much older than the newest half as much (recency)
    cpu_compute: tuple[float | None, ...] = CPU_COMPUTE  # (None,): CPU decode bound by RAM bandwidth alone
    attention: bool = True  # prefill attention at its own fitted share of the matmul rate (False: at the matmul rate)
    families: bool = True  # discrete GPUs' decode constants per architecture (False: per backend:class, as before)
    pooled: bool = True  # a family's fit pulled toward its kind's pooled fit (False: toward starting values)
    # a family with no decode runs on a backend takes its kind's pooled fit scaled as the family stands to its kind on
    # the backends that measured it (SpeedTable.family_standing; False: the pooled fit alone, as before round 13)
    family_standing: bool = True
    # on these backends the MoE prefill ratio scales with the tokens each expert gets in a pass (engines.
    # TILED_EXPERT_PREFILL: llama.cpp's CUDA build); empty: one ratio everywhere
    tiled_backends: frozenset[str] = TILED_EXPERT_PREFILL
    # a backend:class with no prefill runs takes its backend's pooled efficiency (one vote per device; False: the
    # median of the backend's other classes, as before)
    pooled_prefill: bool = True
    prefill_families: bool = True  # prefill efficiency per family, as decode (False: per backend:class, as before)
    # each prefill key pulled toward its backend's pool as if the pool were this many more devices (0: not pulled,
    # as shipped until round 13's runs, with which pulling by one validates better: 19.1 % and 60.3 % against 19.3 %
    # and 62.5 %, docs/accuracy.md)
    prefill_pool_devices: int = 1
    # what the MoE factor is picked on: "log", the mean absolute log error (smooth, so one row added or removed does not
    # flip it); "median", the median relative error (before: flat over the grid, it flipped between 0.05 and 0.2 as
    # single devices were left out)
    moe_objective: str = "log"
    # the weight kinds (estimate.weights.weight_kind) whose prefill matmuls get a ratio of their own per backend (none
    # as shipped: BF16 and F16 files' ratio, shipped until round 12's runs, no longer earns its place, docs/accuracy.md)
    weight_kinds: frozenset[str] = frozenset()
    # a prefill's output head once per pass, not per token (llama.cpp computes logits for a pass's last token only;
    # as shipped, the head is counted per prompt token: counted once per pass, the held-out figures are worse)
    head_once_per_pass: bool = False
    # a device's prefill efficiency from its dense runs where it has any: its MoE runs inform the key's efficiency and
    # its backend's pool only where it has none (not shipped: a MoE run's implied efficiency rests on the experts'
    # ratio, but held out the 90th percentile is worse, docs/accuracy.md)
    dense_first: bool = False
    # decode: an integrated GPU's key pulled toward its backend's discrete-GPU pool as if that pool were this many more
    # devices (an iGPU runs its backend's kernels; the one to three APUs a backend has runs on measure only their own
    # memory systems); 0: pulled lightly toward the APU class's starting values, as shipped until round 17's runs
    apu_pool_devices: float = 1.0
    # prefill: the cache term's candidates (prefill_fit.CACHE_QUERIES: the prompt tokens sharing one read of the
    # cache, None among them: no term), fitted on the runs at depth; (None,): attention costs its FLOPs alone, as
    # shipped until stop 40
    cache_queries: tuple[float | None, ...] = CACHE_QUERIES

    def rows(self, rows: list[Case]) -> list[Case]:
        """The rows as this variant sees them."""
        if not self.families:
            rows = [replace(c, family=None) if c.device_class in ARCHITECTURE_CLASSES else c for c in rows]
        if not self.prefill_families:
            rows = [replace(c, prefill_by_family=False) for c in rows]
        if self.head_once_per_pass:
            rows = [replace(c, work=replace(c.work, flops_per_token=c.work.flops_per_token
                                            - c.work.head_flops_per_token)) if c.m.kind == "prefill" else c
                    for c in rows]
        if self.flat_moe:
            rows = [replace(c, work=replace(c.work, experts_per_token=1)) if c.moe else c for c in rows]
        if self.half_life_years:
            newest = max((_months(c.m.date) for c in rows if c.m.date), default=0)
            rows = [replace(c, weight=0.5 ** ((newest - _months(c.m.date)) / 12 / self.half_life_years))
                    if c.m.date else c for c in rows]
        return rows


def _tiles(defaults: Defaults, backends: frozenset[str]) -> ExpertTiles | None:
    return ExpertTiles(defaults.moe_prefill_tile_tokens, tuple(sorted(backends))) if backends else None


def _months(date: str | None) -> int:
    """'2025-08' (or '2025') as months since year 0."""
    parts = (date or "0").split("-")
    return int(parts[0]) * 12 + (int(parts[1]) - 1 if len(parts) > 1 and parts[1].isdigit() else 6)


SHIPPED = Variant()


def fit(rows: list[Case], defaults: Defaults, variant: Variant = SHIPPED) -> SpeedFit:
    """Constants for every backend:class with data, as a SpeedFit (no error bands: those come from validation)."""
    decode_rows = [c for c in rows if c.m.kind == "decode"]
    how = variant.moe_objective
    shared = min(variant.moe_factors, key=lambda f: _decode_error(decode_rows, {}, f, defaults, how, variant=variant))
    by_backend = {} if not variant.per_backend else per_backend(
        decode_rows, lambda c: c.key, BACKEND_MOE_FACTORS,
        lambda own, b, f: _decode_error(own, {b: f}, shared, defaults, how, variant=variant))
    cpu = [c for c in decode_rows if c.backend == "cpu"]
    compute = min(variant.cpu_compute,
                  key=lambda k: _decode_error(cpu, by_backend, shared, defaults, "mean", k, variant=variant))
    decode = _fit_keys(decode_rows, by_backend, shared, defaults, compute, variant)
    # the prefill fit reads each run's efficiency off its matmul time at efficiency 1, which holds where
    # the prefill is all compute: not on GPUs splitting every layer, whose all-reduces take time of their own
    p = fit_prefill([c for c in rows if c.m.kind == "prefill" and c.tflops and c.tensor_parallel == 1], defaults,
                    variant.prefill_per_backend, variant.attention,
                    _tiles(defaults, variant.tiled_backends), variant.prefill_pool_devices, variant.weight_kinds,
                    variant.dense_first, variant.cache_queries)
    return SpeedFit(decode, p.efficiency, shared, p.moe_ratio, {}, {}, len(rows), len({c.group for c in rows}),
                    by_backend, p.moe_ratios, compute, attention_prefill_ratio_by_backend=p.attention,
                    moe_prefill_tiles=p.tiles,
                    prefill_pooled_by_backend=p.pooled if variant.pooled_prefill else {},
                    prefill_samples=p.samples, weight_prefill_ratio=p.weights,
                    prefill_cache_queries=p.cache_queries)


def _fit_keys(rows: list[Case], by_backend: dict[str, float], shared: float,
              defaults: Defaults, compute: float | None, variant: Variant) -> dict[str, FittedClass]:
    """A fit per backend:family or backend:class, and per pool of families (backend:apple, backend:discrete: every
    family of the kind, fitted whole), which is its families' prior (partial pooling: a family whose rows leave
    the efficiency and the fixed time trading off borrows its kind's shape, not a fixed guess), an integrated GPU's
    (its backend's kernels; variant.apu_pool_devices) and the constants of a family with no measurements."""
    out = {}
    kinds: dict[str, Prior] = {}  # each kind's pooled fit (backend:discrete, backend:apple)

    def fitted(key: str, own: list[Case], prior: Prior, weight: float = PRIOR_WEIGHT) -> tuple[float, float]:
        a, tau = _fit_decode(own, by_backend.get(own[0].backend, shared), prior, compute, weight)
        out[key] = FittedClass(round(1 / a, 4), round(tau, 8), len(own), len({c.group for c in own}), period(own))
        return a, tau

    for key in sorted({_pool_key(c) for c in rows if c.family is not None}):
        kind = [c for c in rows if c.family is not None and _pool_key(c) == key]
        kinds[key] = Prior(*fitted(key, kind, prior_for(key, defaults)))
    for key in sorted({c.key for c in rows}):
        own = [c for c in rows if c.key == key]
        fitted(key, own, *_key_prior(own, kinds, defaults, variant))
    return out


def _key_prior(own: list[Case], kinds: dict[str, Prior], defaults: Defaults, variant: Variant) -> tuple[Prior, float]:
    """A key's prior and its weight: a family's, its kind's pooled fit (variant.pooled False: its kind's starting
    values), lightly; an integrated GPU's, its backend's discrete-GPU pooled fit as if that were
    variant.apu_pool_devices more devices of the key's mean runs each (the kernels are the backend's; only the memory
    system is the APU's own); any other class's, its starting values, lightly."""
    c = own[0]
    discrete = kinds.get(f"{c.backend}:{family_pool(ARCHITECTURE_CLASSES[0])}")
    if c.family is not None:
        return kinds[_pool_key(c)] if variant.pooled else prior_for(_pool_key(c), defaults), PRIOR_WEIGHT
    if variant.apu_pool_devices and c.device_class == APU_CLASS and discrete is not None:
        return discrete, max(PRIOR_WEIGHT, variant.apu_pool_devices * len(own) / len({x.group for x in own}))
    return prior_for(c.key, defaults), PRIOR_WEIGHT


def _pool_key(c: Case) -> str:
    return f"{c.backend}:{family_pool(c.device_class)}"


def _decode_error(rows: list[Case], by_backend: dict[str, float], shared: float, defaults: Defaults,
                  objective: str, compute: float | None = None, *, variant: Variant) -> float:
    """The in-sample error of the decode fits for every backend:class in `rows` with these factors: "log", the mean
    absolute log of predicted / measured (the MoE factor's: smooth in the factor and symmetric in over and under);
    "mean", the mean relative error (the CPU's compute ratio, which only the few-thread runs inform); "median", the
    median relative error."""
    if not rows:
        return 0.0
    table = fit_table(defaults, _fit_keys(rows, by_backend, shared, defaults, compute, variant),
                      moe=(shared, by_backend), compute=compute)
    ratios = [(predict(table, c) or 0.0) / c.m.tokens_per_s for c in rows]
    if objective == "log":
        return statistics.fmean(abs(math.log(r)) if r > 0 else math.inf for r in ratios)
    errors = [abs(r - 1) for r in ratios]
    return statistics.fmean(errors) if objective == "mean" else statistics.median(errors)


def prior_for(key: str, defaults: Defaults) -> Prior:
    """The starting values in defaults.yaml for a backend:class (a pool of discrete GPUs: the consumer class's), the
    prior every decode fit is pulled toward."""
    cls = key.rsplit(":", maxsplit=1)[-1]
    start = defaults.speed_classes.get(ARCHITECTURE_CLASSES[0] if cls == "discrete" else cls)
    if start is None:
        return Prior(1 / 0.85, 0.00005)
    return Prior(1 / start.stream_efficiency, start.per_layer_s)
