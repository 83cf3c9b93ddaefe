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
           quantized kernels (on CUDA, cuBLAS instead of MMQ; on Metal, no dequantization in the inner loop).
Every candidate is scored, and every implied efficiency read, through the shipped lookup and formula
(advisor.speed.cases.predict).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from advisor.specs import Defaults
from advisor.specs.measured import ExpertTiles, FitSample
from advisor.speed.cases import Case, fit_table, per_backend, period, predict

PREFILL_RATIOS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
# the attention ratio's grid: an even grid on a log scale from 1 (the matmul rate) down to 0.1
ATTENTION_RATIOS = tuple(round(0.8 ** i, 3) for i in range(11))
DEEP_TOKENS = 4096  # a prefill run with this much context already there informs the attention ratio
# the weight-kind ratio's grid: quarter octaves from a quarter to four times the block-quantized types' efficiency
WEIGHT_RATIOS = tuple(round(2 ** (i / 4), 3) for i in range(-8, 9))


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


def fit_prefill(rows: list[Case], defaults: Defaults, moe_per_backend: bool,
                attention_ratios: bool = True, tiles: ExpertTiles | None = None, pool_devices: int = 0,
                weight_kinds: frozenset[str] = frozenset(), dense_first: bool = False) -> PrefillFit:
    """The prefill constants from the prefill rows with a compute figure (`attention_ratios` False: attention at the
    matmul rate everywhere, the ablation's variant; `tiles`: the tile term's, None without it; `pool_devices`:
    how many devices the backend's pool counts as when a key's efficiency is pulled toward it, 0: not pulled;
    `weight_kinds`: the weight kinds that get a ratio of their own where their runs allow; `dense_first`: a device's
    MoE runs inform the efficiency only where it has no dense run on the backend, _counted)."""
    # the MoE ratio from GPU runs: a few CPU MoE runs would swing the median it is picked on
    gpu = [c for c in rows if c.backend != "cpu"]
    ratio, ratios = _fit_ratios(gpu, defaults, moe_per_backend, tiles, dense_first)
    # on dense models: a MoE's prefill at depth also moves with its experts' batch sizes (-ub), which would leak in
    attention = {} if not attention_ratios else per_backend(
        [c for c in rows if not c.moe], lambda c: c.prefill_key, ATTENTION_RATIOS,
        lambda own, b, r: _prefill_error(own, (ratio, ratios), defaults, {b: r}, tiles, dense_first=dense_first),
        informs=lambda c: c.work.depth_tokens >= DEEP_TOKENS)
    attention = {b: r for b, r in attention.items() if r != 1.0}
    weights: dict[str, float] = {}
    for kind in sorted(weight_kinds):
        weights |= _weight_ratios(rows, kind, ((ratio, ratios), attention, tiles), defaults, dict(weights),
                                  dense_first)
    unit = _at_unit_efficiency(rows, (ratio, ratios), attention, defaults, tiles, weights)
    pooled = _pooled(rows, unit, dense_first)
    samples = _samples(rows)
    own = _toward_pool(_prefill_efficiency(rows, unit, dense_first), pooled, samples, pool_devices)
    return PrefillFit(own, ratio, ratios, attention, pooled, samples, tiles, weights)


def _weight_ratios(rows: list[Case], kind: str,
                   fitted: tuple[tuple[float, dict[str, float]], dict[str, float], ExpertTiles | None],
                   defaults: Defaults, before: dict[str, float], dense_first: bool = False) -> dict[str, float]:
    """One weight kind's ratio per backend (keyed backend:kind) where its runs come from MIN_DEVICES devices, by
    grid search on the backend's median error at the MoE and attention ratios already fitted (`fitted`), the
    efficiency refitted at each candidate; a ratio of 1 is left out."""
    moe, attention, tiles = fitted
    found = per_backend(rows, lambda c: c.prefill_key, WEIGHT_RATIOS,
                        lambda own, b, r: _prefill_error(own, moe, defaults, attention, tiles,
                                                         {**before, f"{b}:{kind}": r}, dense_first=dense_first),
                        informs=lambda c: c.work.weight_kind == kind)
    return {f"{b}:{kind}": r for b, r in found.items() if r != 1.0}


def _fit_ratios(rows: list[Case], defaults: Defaults, by_backend: bool,
                tiles: ExpertTiles | None, dense_first: bool = False) -> tuple[float, dict[str, float]]:
    """The routed-expert matmuls' prefill ratio: a grid search on the median error (shared, then per backend if
    asked), the efficiency refitted at each candidate."""
    if not any(c.moe for c in rows):
        return 0.25, {}
    shared = min(PREFILL_RATIOS, key=lambda r: _prefill_error(rows, (r, {}), defaults, None, tiles,
                                                              dense_first=dense_first))
    own = {} if not by_backend else per_backend(
        rows, lambda c: c.prefill_key, PREFILL_RATIOS,
        lambda rs, b, r: _prefill_error(rs, (shared, {b: r}), defaults, None, tiles, dense_first=dense_first))
    return shared, own


def _at_unit_efficiency(rows: list[Case], moe: tuple[float, dict[str, float]], attention: dict[str, float],
                        defaults: Defaults, tiles: ExpertTiles | None = None,
                        weights: dict[str, float] | None = None) -> list[float]:
    """What the shipped formula predicts for each row at a prefill efficiency of 1 (a one-lane prefill is
    proportional to its efficiency), so that the efficiency a row implies is measured / this."""
    unit = fit_table(defaults, prefill=dict.fromkeys({c.prefill_key for c in rows}, 1.0), ratio=moe,
                     attention=attention, tiles=tiles, weights=weights)
    return [predict(unit, c) or 1.0 for c in rows]


def _counted(rows: list[Case], dense_first: bool) -> list[bool]:
    """Which rows inform the efficiency: all; or, `dense_first`, a device's dense runs and its MoE runs only where it
    has no dense run on the backend (a MoE run's implied efficiency rests on the experts' ratio, a second term)."""
    dense = {(c.backend, c.group) for c in rows if not c.moe} if dense_first else set()
    return [not c.moe or (c.backend, c.group) not in dense for c in rows]


def _prefill_efficiency(rows: list[Case], unit: list[float], dense_first: bool = False) -> dict[str, float]:
    """Per backend:class, the median over its rows of the efficiency each implies: measured over `unit`, its
    prediction at an efficiency of 1 (_at_unit_efficiency, at the MoE and attention ratios being scored)."""
    implied: dict[str, list[float]] = {}
    for c, u, counted in zip(rows, unit, _counted(rows, dense_first), strict=True):
        if counted:
            implied.setdefault(c.prefill_key, []).append(c.m.tokens_per_s / u)
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


def _pooled(rows: list[Case], unit: list[float], dense_first: bool = False) -> dict[str, float]:
    """Per backend, the median over its devices of the median efficiency each device's rows imply."""
    per_device: dict[str, dict[str, list[float]]] = {}
    for c, u, counted in zip(rows, unit, _counted(rows, dense_first), strict=True):
        if counted:
            per_device.setdefault(c.backend, {}).setdefault(c.group, []).append(c.m.tokens_per_s / u)
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
                   weights: dict[str, float] | None = None, *, dense_first: bool = False) -> float:
    """The median error of the rows predicted at these ratios and the efficiencies they imply."""
    unit = _at_unit_efficiency(rows, moe, attention or {}, defaults, tiles, weights)
    efficiency = _prefill_efficiency(rows, unit, dense_first)
    return statistics.median(abs(efficiency[c.prefill_key] * u / c.m.tokens_per_s - 1)
                             for c, u in zip(rows, unit, strict=True))
