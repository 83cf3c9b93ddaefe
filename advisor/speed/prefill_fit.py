"""Fit the prefill constants to published measurements. Pure.

prefill: tokens/s = efficiency x matmul TFLOPS / work, work = FLOPs with the routed-expert part divided by the MoE
         prefill ratio and the attention over the context already there divided by the attention ratio;
         - efficiency per backend:class: the median over its rows of what each implies; a class with no rows takes
           its backend's pooled efficiency, the median over the backend's devices of each device's median (one vote
           per device: a class measured on one device does not weigh as much as one measured on five);
         - the MoE ratio: a grid search on the median error, shared (per backend in a variant); on the backends
           that tile experts (engines.TILED_EXPERT_PREFILL) it holds at 32 tokens per expert in a pass and scales
           with the tokens each expert gets
           (estimate.experts.expert_batch_scale, at defaults.yaml's tile tokens: not fitted);
         - the attention ratio: per backend, a grid search on its dense models' median error where their runs at
           depth (4096 tokens of context or more) come from MIN_DEVICES devices; 1 elsewhere (attention at the matmul
           rate). Flash attention is its own kernel, and on some backends it runs well below the matmuls;
         - the weight-kind ratio (shipped for "float": BF16, F16 weights; estimate.weights.weight_kind): the matmuls
           of a file of that kind at their own share of the efficiency, per backend, by grid search on the backend's
           median error where that kind's runs come from MIN_DEVICES devices; 1 elsewhere. Float weights skip the
           quantized kernels (on CUDA, cuBLAS instead of MMQ; on Metal, no dequantization in the inner loop);
         - the cache term (estimate.attention.cache_seconds): a prompt token's attention also reads the cache it
           attends to, once per `queries` prompt tokens at the memory's bandwidth; `queries` by grid search
           (CACHE_QUERIES, with None: no term) on the median error of the runs at depth (DEEP_TOKENS), every other
           constant refitted at each candidate. Where a run's time holds that fixed part, the efficiency it implies
           is its matmul time at efficiency 1 over its measured time less the cache part.
Every candidate is scored, and every implied efficiency read, through the shipped lookup and formula
(advisor.speed.cases.predict).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from advisor.estimate.attention import cache_seconds
from advisor.specs import Defaults
from advisor.specs.measured import ExpertTiles, FitSample
from advisor.speed.cases import Case, fit_table, per_backend, period, predict

PREFILL_RATIOS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
# the attention ratio's grid: an even grid on a log scale from 1 (the matmul rate) down to 0.1
ATTENTION_RATIOS = tuple(round(0.8 ** i, 3) for i in range(11))
DEEP_TOKENS = 4096  # a prefill run with this much context already there informs the attention ratio
# the weight-kind ratio's grid: quarter octaves from a quarter to four times the block-quantized types' efficiency
WEIGHT_RATIOS = tuple(round(2 ** (i / 4), 3) for i in range(-8, 9))
# the cache term's grid: the prompt tokens that share one read of the cache, octaves from 32 (None: no term)
CACHE_QUERIES: tuple[float | None, ...] = (None, 32.0, 64.0, 128.0, 256.0, 512.0)
# what a run's time at efficiency 1 (its matmuls) and its cache reads are; memo: units already computed in this fit,
# by the rows and the ratios they were computed at (the cache term does not change them)
Unit = tuple[float, float]
Memo = dict[tuple[object, ...], list[float]]


@dataclass(frozen=True, slots=True)
class PrefillFit:
    efficiency: dict[str, float]  # per backend:class
    moe_ratio: float  # shared
    moe_ratios: dict[str, float]  # per backend (the variant that fits them)
    attention: dict[str, float]  # per backend where fitted
    pooled: dict[str, float]  # per backend: the median over its devices of each one's implied efficiency
    samples: dict[str, FitSample]  # what each rests on: per backend:class, and per backend as "backend:*"
    tiles: ExpertTiles | None = None  # SpeedFit.moe_prefill_tiles (None: no tile term)
    weights: dict[str, float] = field(default_factory=dict)  # per backend:kind where fitted (weight_prefill_ratio)
    cache_queries: float | None = None  # SpeedFit.prefill_cache_queries (None: no cache term)


def fit_prefill(rows: list[Case], defaults: Defaults, moe_per_backend: bool,
                attention_ratios: bool = True, tiles: ExpertTiles | None = None, pool_devices: int = 0,
                weight_kinds: frozenset[str] = frozenset(), dense_first: bool = False,
                cache_queries: tuple[float | None, ...] = (None,)) -> PrefillFit:
    """The prefill constants from the prefill rows with a compute figure (`attention_ratios` False: attention at the
    matmul rate everywhere, the ablation's variant; `tiles`: the tile term's, None without it; `pool_devices`:
    how many devices the backend's pool counts as when a key's efficiency is pulled toward it, 0: not pulled;
    `weight_kinds`: the weight kinds that get a ratio of their own where their runs allow; `dense_first`: a device's
    MoE runs inform the efficiency only where it has no dense run on the backend, _counted; `cache_queries`: the
    cache term's candidates, the one whose fit errs least on the runs at depth kept, the first of equals)."""
    memo: Memo = {}
    deep = [c for c in rows if c.work.depth_tokens >= DEEP_TOKENS]
    best: tuple[float, PrefillFit] | None = None
    for queries in cache_queries:
        found = _fit_at(rows, defaults, (moe_per_backend, attention_ratios, tiles, pool_devices, weight_kinds,
                                         dense_first), queries, memo)
        error = _fitted_error(deep, found, defaults, memo) if deep and len(cache_queries) > 1 else 0.0
        if best is None or error < best[0]:
            best = (error, found)
    assert best is not None
    return best[1]


def _fit_at(rows: list[Case], defaults: Defaults,
            how: tuple[bool, bool, ExpertTiles | None, int, frozenset[str], bool],
            queries: float | None, memo: Memo) -> PrefillFit:
    """fit_prefill's constants at one cache term (`how`: its other arguments)."""
    moe_per_backend, attention_ratios, tiles, pool_devices, weight_kinds, dense_first = how
    # the MoE ratio from GPU runs: a few CPU MoE runs would swing the median it is picked on
    gpu = [c for c in rows if c.backend != "cpu"]
    ratio, ratios = _fit_ratios(gpu, defaults, moe_per_backend, tiles, dense_first, (queries, memo))
    # on dense models: a MoE's prefill at depth also moves with its experts' batch sizes (-ub), which would leak in
    attention = {} if not attention_ratios else per_backend(
        [c for c in rows if not c.moe], lambda c: c.prefill_key, ATTENTION_RATIOS,
        lambda own, b, r: _prefill_error(own, (ratio, ratios), defaults, {b: r}, tiles, dense_first=dense_first,
                                         cache=(queries, memo)),
        informs=lambda c: c.work.depth_tokens >= DEEP_TOKENS)
    attention = {b: r for b, r in attention.items() if r != 1.0}
    weights: dict[str, float] = {}
    for kind in sorted(weight_kinds):
        weights |= _weight_ratios(rows, kind, ((ratio, ratios), attention, tiles), defaults, dict(weights),
                                  dense_first, (queries, memo))
    unit = _at_unit_efficiency(rows, (ratio, ratios), attention, defaults, tiles, weights, (queries, memo))
    pooled = _pooled(rows, unit, dense_first)
    samples = _samples(rows)
    own = _toward_pool(_prefill_efficiency(rows, unit, dense_first), pooled, samples, pool_devices)
    return PrefillFit(own, ratio, ratios, attention, pooled, samples, tiles, weights, queries)


def _fitted_error(rows: list[Case], p: PrefillFit, defaults: Defaults, memo: Memo) -> float:
    """The median error of these rows at a finished fit's constants (each at its key's efficiency)."""
    unit = _at_unit_efficiency(rows, (p.moe_ratio, p.moe_ratios), p.attention, defaults, p.tiles, p.weights,
                               (p.cache_queries, memo))
    return statistics.median(abs(_relative(c, p.efficiency[c.prefill_key], u) - 1)
                             for c, u in zip(rows, unit, strict=True))


def _weight_ratios(rows: list[Case], kind: str,
                   fitted: tuple[tuple[float, dict[str, float]], dict[str, float], ExpertTiles | None],
                   defaults: Defaults, before: dict[str, float], dense_first: bool = False,
                   cache: tuple[float | None, Memo | None] = (None, None)) -> dict[str, float]:
    """One weight kind's ratio per backend (keyed backend:kind) where its runs come from MIN_DEVICES devices, by
    grid search on the backend's median error at the MoE and attention ratios already fitted (`fitted`), the
    efficiency refitted at each candidate; a ratio of 1 is left out."""
    moe, attention, tiles = fitted
    found = per_backend(rows, lambda c: c.prefill_key, WEIGHT_RATIOS,
                        lambda own, b, r: _prefill_error(own, moe, defaults, attention, tiles,
                                                         {**before, f"{b}:{kind}": r}, dense_first=dense_first,
                                                         cache=cache),
                        informs=lambda c: c.work.weight_kind == kind)
    return {f"{b}:{kind}": r for b, r in found.items() if r != 1.0}


def _fit_ratios(rows: list[Case], defaults: Defaults, by_backend: bool, tiles: ExpertTiles | None,
                dense_first: bool = False, cache: tuple[float | None, Memo | None] = (None, None),
                ) -> tuple[float, dict[str, float]]:
    """The routed-expert matmuls' prefill ratio: a grid search on the median error (shared, then per backend if
    asked), the efficiency refitted at each candidate."""
    if not any(c.moe for c in rows):
        return 0.25, {}
    shared = min(PREFILL_RATIOS, key=lambda r: _prefill_error(rows, (r, {}), defaults, None, tiles,
                                                              dense_first=dense_first, cache=cache))
    own = {} if not by_backend else per_backend(
        rows, lambda c: c.prefill_key, PREFILL_RATIOS,
        lambda rs, b, r: _prefill_error(rs, (shared, {b: r}), defaults, None, tiles, dense_first=dense_first,
                                        cache=cache))
    return shared, own


def _at_unit_efficiency(rows: list[Case], moe: tuple[float, dict[str, float]], attention: dict[str, float],
                        defaults: Defaults, tiles: ExpertTiles | None = None,
                        weights: dict[str, float] | None = None,
                        cache: tuple[float | None, Memo | None] = (None, None)) -> list[Unit]:
    """Each row's matmul time at a prefill efficiency of 1 (what the shipped formula predicts without the cache term:
    that time is proportional to 1 / efficiency) and its cache reads' time (`cache`: the term's queries, and this
    fit's memo of the former)."""
    queries, memo = cache
    key = (tuple(map(id, rows)), moe[0], tuple(sorted(moe[1].items())), tuple(sorted(attention.items())), tiles,
           tuple(sorted((weights or {}).items())))
    rates = memo.get(key) if memo is not None else None
    if rates is None:
        unit = fit_table(defaults, prefill=dict.fromkeys({c.prefill_key for c in rows}, 1.0), ratio=moe,
                         attention=attention, tiles=tiles, weights=weights)
        rates = [predict(unit, c) or 1.0 for c in rows]
        if memo is not None:
            memo[key] = rates
    return [(1.0 / r, cache_seconds(c.work.cache_bytes, c.bandwidth_gbps, queries)) for c, r in zip(rows, rates,
                                                                                                   strict=True)]


def _implied(c: Case, unit: Unit) -> float:
    """The efficiency a run implies: its matmul time at efficiency 1 over its measured time less its cache reads (at
    least a twentieth of its time: a run faster than its cache term allows implies a high efficiency, not a negative
    one)."""
    matmul_s, cache_s = unit
    measured_s = 1.0 / c.m.tokens_per_s
    return matmul_s / max(measured_s - cache_s, measured_s / 20)


def _relative(c: Case, efficiency: float, unit: Unit) -> float:
    """The prediction at this efficiency over the measured rate."""
    matmul_s, cache_s = unit
    return 1.0 / (matmul_s / efficiency + cache_s) / c.m.tokens_per_s


def _counted(rows: list[Case], dense_first: bool) -> list[bool]:
    """Which rows inform the efficiency: all; or, `dense_first`, a device's dense runs and its MoE runs only where it
    has no dense run on the backend (a MoE run's implied efficiency rests on the experts' ratio, a second term)."""
    dense = {(c.backend, c.group) for c in rows if not c.moe} if dense_first else set()
    return [not c.moe or (c.backend, c.group) not in dense for c in rows]


def _prefill_efficiency(rows: list[Case], unit: list[Unit], dense_first: bool = False) -> dict[str, float]:
    """Per backend:class, the median over its rows of the efficiency each implies (_implied, from `unit`: its times
    at an efficiency of 1, _at_unit_efficiency, at the ratios and cache term being scored)."""
    implied: dict[str, list[float]] = {}
    for c, u, counted in zip(rows, unit, _counted(rows, dense_first), strict=True):
        if counted:
            implied.setdefault(c.prefill_key, []).append(_implied(c, u))
    return {key: round(statistics.median(values), 4) for key, values in sorted(implied.items())}


def _toward_pool(own: dict[str, float], pooled: dict[str, float], samples: dict[str, FitSample],
                 weight: int) -> dict[str, float]:
    """Each key's efficiency pulled toward its backend's pooled one as if the pool were `weight` more devices (1, as
    shipped: a family measured on one device sits halfway, one measured on four keeps four fifths of its own; 0: each
    keeps its own)."""
    if not weight:
        return own
    out = {}
    for key, value in own.items():
        n = samples[key].devices
        out[key] = round((n * value + weight * pooled[key.split(":", 1)[0]]) / (n + weight), 4)
    return out


def _pooled(rows: list[Case], unit: list[Unit], dense_first: bool = False) -> dict[str, float]:
    """Per backend, the median over its devices of the median efficiency each device's rows imply."""
    per_device: dict[str, dict[str, list[float]]] = {}
    for c, u, counted in zip(rows, unit, _counted(rows, dense_first), strict=True):
        if counted:
            per_device.setdefault(c.backend, {}).setdefault(c.group, []).append(_implied(c, u))
    return {backend: round(statistics.median(statistics.median(v) for v in devices.values()), 4)
            for backend, devices in sorted(per_device.items())}


def _samples(rows: list[Case]) -> dict[str, FitSample]:
    groups: dict[str, list[Case]] = {}
    for c in rows:
        groups.setdefault(c.prefill_key, []).append(c)
        groups.setdefault(f"{c.backend}:*", []).append(c)
    return {key: FitSample(len(own), len({c.group for c in own}), period(own)) for key, own in sorted(groups.items())}


def _prefill_error(rows: list[Case], moe: tuple[float, dict[str, float]], defaults: Defaults,
                   attention: dict[str, float] | None = None, tiles: ExpertTiles | None = None,
                   weights: dict[str, float] | None = None, *, dense_first: bool = False,
                   cache: tuple[float | None, Memo | None] = (None, None)) -> float:
    """The median error of the rows predicted at these ratios and the efficiencies they imply."""
    unit = _at_unit_efficiency(rows, moe, attention or {}, defaults, tiles, weights, cache)
    efficiency = _prefill_efficiency(rows, unit, dense_first)
    return statistics.median(abs(_relative(c, efficiency[c.prefill_key], u) - 1)
                             for c, u in zip(rows, unit, strict=True))
