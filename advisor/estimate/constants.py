"""Which speed constants apply to a device under an engine, and the error band that goes with them. Pure.

One lookup, used by the shipped estimate and by the fit's cross-validation alike (advisor.speed), so the constants
`validate` scores are the constants that ship. Order: the decode fit on published measurements for the device's
backend:family (an Apple chip generation, a discrete GPU's architecture: speed_family) or backend:class
(catalog/speed_fit.yaml; the backend is the engine's, see advisor.engines), else the fits of the same backend or the
same class, else the starting values in catalog/defaults.yaml. Prefill efficiency is fitted per backend:class.
The user's own calibration (`advisor calibrate`) is kept beside the fit and scales a finished estimate
(advisor.estimate.lanes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from advisor.engines import SORTED_EXPERT_PREFILL, constants_engine, stand_in
from advisor.specs import Defaults, GpuSpec
from advisor.specs.measured import ErrorBand, FitSample, LocalCalibration, SpeedFit

T = TypeVar("T")
MIN_BAND_ROWS = 8  # a backend:class needs this many held-out predictions for a band of its own
# ... from this many devices: one device's errors say how that device varies, not how a device never measured would,
# and two devices' do little better: held out, a class's own band from two other devices held 51 % of runs (2026-12-07,
# 80 of them) and 44 % with round 12's, from three 79-80 % (docs/accuracy.md, "Do the ranges hold?"; at the
# calibrated tail, advisor.speed.ranges, 44 % and 80 %; with round 13's runs 56 % and 78 %)
MIN_BAND_DEVICES = 3
# discrete GPUs of these classes take decode constants per architecture: a workstation card is a consumer die
ARCHITECTURE_CLASSES = ("consumer", "workstation")
APU_CLASS = "apu"  # an integrated GPU on the system's memory


@dataclass(frozen=True, slots=True)
class Constants:
    stream_efficiency: float
    per_layer_s: float  # a dense layer's fixed cost per token
    prefill_efficiency: float | None
    basis: str
    decode_band: ErrorBand | None
    prefill_band: ErrorBand | None
    moe_expert_layer_cost: float = 0.0  # each routed expert per token adds this share of a layer's fixed cost
    expert_prefill_ratio: float = 1.0  # routed-expert matmuls' prefill efficiency over the dense matmuls'
    decode_gflops_per_core: float | None = None  # CPU: SpeedFit.cpu_decode_gflops_per_core (cores bound decode)
    prefill_per_layer_s: float = 0.0  # the fixed time per layer of one prefill forward pass (serving engines)
    prefill_moe_layer_s: float = 0.0  # ... and what each MoE layer adds to it
    prefill_request_s: float = 0.0  # a request's time outside the forward passes (serving engines)
    sequence_step_s: float = 0.0  # serving engines: what each running sequence past the first adds to a decode step
    attention_prefill_ratio: float = 1.0  # prefill attention's efficiency over the dense matmuls' (SpeedFit)
    expert_batch_tokens: float | None = None  # estimate.experts.expert_batch_scale's, where the backend tiles experts
    weight_prefill_ratios: tuple[tuple[str, float], ...] = ()  # per weight kind, where fitted (SpeedFit)
    prefill_cache_queries: float | None = None  # prompt tokens sharing one read of the cache (SpeedFit; None: no term)

    @property
    def pass_times(self) -> bool:
        """Whether a prefill pass carries fixed times (a serving engine's constants), so that its passes matter."""
        return bool(self.prefill_per_layer_s or self.prefill_moe_layer_s or self.prefill_request_s)


def _tile_tokens(fit: SpeedFit, backend: str) -> float | None:
    """The tile width that scales this backend's MoE prefill ratio with the tokens per expert (None: it does not)."""
    tiles = fit.moe_prefill_tiles
    return tiles.tokens if tiles is not None and backend in tiles.backends else None


def _median(values: list[float]) -> float:
    import statistics  # lazily: it pulls in fractions and decimal

    return statistics.median(values)


def near(key: str, table: Mapping[str, T]) -> tuple[list[T], str]:
    """Stand-ins for a backend:class with no fit of its own: the engine it stands in for on the same class (SGLang:
    vLLM's, advisor.engines.stand_in), else the fits of the same backend, else of the same class under the same engine
    (vLLM's constants never stand in for llama.cpp's), with a label for the basis; ([], "") when none has any."""
    backend, device_class = key.split(":", 1)
    stand = stand_in(backend)
    if stand is not None and f"{stand}:{device_class}" in table:  # SGLang on each vendor takes that vendor's vLLM fit
        return [table[f"{stand}:{device_class}"]], f"{stand}:{device_class}"
    engine = constants_engine(backend)
    same_class = {k: v for k, v in table.items()
                  if k.endswith(f":{device_class}") and constants_engine(k.split(":", 1)[0]) == engine}
    for group, label in (([v for k, v in table.items() if k.startswith(f"{backend}:")], f"{backend}:*"),
                         (list(same_class.values()), f"*:{device_class} ({', '.join(sorted(same_class))})")):
        if group:
            return group, label
    return [], ""


def expert_prefill_ratio(backend: str, shared: float, by_backend: Mapping[str, float]) -> float:
    """Routed-expert matmuls' prefill efficiency over the dense ones: 1 where the engine batches each expert's rows
    of the prompt (advisor.engines.SORTED_EXPERT_PREFILL), else the fitted ratio (the backend's, else the shared)."""
    if constants_engine(backend) in SORTED_EXPERT_PREFILL:
        return 1.0
    return by_backend.get(backend, shared)


def speed_family(gpu: GpuSpec | None) -> str | None:
    """The family whose decode constants a GPU takes: an Apple chip's generation (apple-m3), a discrete consumer or
    workstation GPU's architecture (ampere, rdna-4). GPUs of one family share their memory controllers and kernels,
    so they reach like shares of their bandwidth; a market segment does not (a Radeon AI PRO R9700 is an RX 9070 XT's
    die, not a Radeon PRO W7900's). None: the device's class alone."""
    if gpu is None:
        return None
    if gpu.device_class == "apple" and gpu.id.startswith("m") and "-" in gpu.id:
        return f"apple-{gpu.id.split('-')[0]}"
    if gpu.device_class in ARCHITECTURE_CLASSES and gpu.architecture:
        return "-".join(gpu.architecture.split(" (")[0].lower().split())
    return None


def family_pool(device_class: str) -> str | None:
    """The pool a class's families are fitted in together (speed_fit.yaml backend:apple, backend:discrete): their
    fits' prior, and the constants of a family with no measurements; None for a class without families."""
    return "apple" if device_class == "apple" else "discrete" if device_class in ARCHITECTURE_CLASSES else None


def speed_key(backend: str, device_class: str, family: str | None = None) -> str:
    """backend:family where the device has one (speed_family), else backend:class: the key of its decode constants."""
    return f"{backend}:{family or device_class}"


@dataclass(frozen=True)
class SpeedTable:
    """The speed constants in force: the fit (shipped, or a cross-validation fold's), the starting values, and the
    user's own calibration factors per device (empty when fitting or validating)."""

    fit: SpeedFit | None
    defaults: Defaults
    local: Mapping[str, LocalCalibration] = field(default_factory=dict)
    # a family with no decode runs on a backend: its kind's pooled fit scaled as the family stands to its kind on the
    # backends that measured it (False: the pooled fit alone, the ablation's variant)
    family_standing: bool = True
    _memo: dict[tuple[str, str, str | None], Constants] = field(default_factory=dict, compare=False, repr=False)

    def constants(self, backend: str, device_class: str, family: str | None = None) -> Constants:
        """Decode and prefill constants for one device under one engine's backend, and the basis to report;
        `family`: speed_family of the device."""
        memo_key = (backend, device_class, family)
        found = self._memo.get(memo_key)
        if found is None:
            found = self._memo[memo_key] = self._constants(backend, device_class, family)
        return found

    def _constants(self, backend: str, device_class: str, family: str | None) -> Constants:
        key = speed_key(backend, device_class, family)
        start = self.defaults.speed_classes.get(device_class) or self.defaults.speed_classes["consumer"]
        fit = self.fit
        if fit is None:
            return Constants(start.stream_efficiency, start.per_layer_s, start.prefill_efficiency,
                             f"starting values for {device_class} (no fit available)", None, None,
                             self.defaults.moe_expert_layer_cost,
                             expert_prefill_ratio(backend, self.defaults.moe_prefill_factor, {}))
        eff, tau, basis = self._decode(fit, key, device_class)
        base = f"{backend}:{device_class}"
        prefill, prefill_basis = _prefill(fit, backend, (key, base), start.prefill_efficiency)
        basis = f"{basis}; {prefill_basis}" if prefill_basis else basis
        found = Constants(eff, tau, prefill, basis,
                          _band(fit.decode_bands, (key, backend)), _band(fit.prefill_bands, (backend,)),
                          fit.moe_expert_cost(backend),
                          expert_prefill_ratio(backend, fit.moe_prefill_factor, fit.moe_prefill_factor_by_backend),
                          fit.cpu_decode_gflops_per_core if backend == "cpu" else None,
                          attention_prefill_ratio=fit.attention_prefill_ratio_by_backend.get(backend, 1.0),
                          expert_batch_tokens=_tile_tokens(fit, backend),
                          weight_prefill_ratios=fit.weight_prefill_ratios(backend),
                          prefill_cache_queries=fit.prefill_cache_queries)
        served = fit.serving_prefill
        if served is None or constants_engine(backend) != "vllm":
            return found
        # the serving engines' prefill is fitted on times to first token without a cache term
        return replace(found, prefill_efficiency=served.efficiency, prefill_per_layer_s=served.per_layer_s,
                       prefill_cache_queries=None,
                       prefill_moe_layer_s=served.moe_layer_s,
                       prefill_request_s=served.request_s, sequence_step_s=served.sequence_step_s,
                       basis=f"{basis}; prefill fitted on {served.rows} published times to first token from "
                             f"{served.devices} devices ({served.efficiency:.2f} of the FP16 TFLOPS; a pass's fixed "
                             f"time {served.per_layer_s * 1000:.2f} ms a layer, "
                             f"{served.moe_layer_s * 1000:.2f} ms more a MoE layer; "
                             f"{served.request_s * 1000:.0f} ms a request)"
                             + (f"; each running sequence past the first adds {served.sequence_step_s * 1000:.2f} ms "
                                f"to a step, fitted on {served.throughput_rows} published throughputs"
                                if served.sequence_step_s else ""))

    def _decode(self, fit: SpeedFit, key: str, device_class: str) -> tuple[float, float, str]:
        own = fit.decode.get(key)
        if own is not None:
            return (own.stream_efficiency, own.per_layer_s,
                    f"fitted for {key} on {FitSample(own.rows, own.devices, own.period).describe()}")
        pool = family_pool(device_class)
        pool_key = f"{key.split(':', 1)[0]}:{pool}"
        pooled = fit.decode.get(pool_key) if pool else None
        if pooled is not None:
            basis = f"no measurements for {key}; the pooled fit of its kind, {pool_key}, on " \
                    f"{FitSample(pooled.rows, pooled.devices).describe()}"
            standing = _standing(fit, key, pool_key) if self.family_standing else None
            if standing is None:
                return pooled.stream_efficiency, pooled.per_layer_s, basis
            eff, tau, where = standing
            return (min(1.0, pooled.stream_efficiency * eff), pooled.per_layer_s * tau,
                    f"{basis}, scaled as the family stands to its kind on {where} (efficiency x{eff:.2f}, fixed time "
                    f"per layer x{tau:.2f})")
        stand_ins, label = near(key, fit.decode)
        if stand_ins:
            of = "" if len(stand_ins) == 1 else f" (median of {len(stand_ins)} fits)"
            return (_median([f.stream_efficiency for f in stand_ins]),
                    _median([f.per_layer_s for f in stand_ins]),
                    f"no measurements for {key}; constants of {label}{of}")
        start = self.defaults.speed_classes.get(device_class) or self.defaults.speed_classes["consumer"]
        return start.stream_efficiency, start.per_layer_s, f"no measurements for {key}; starting values for " \
            f"{device_class}"


def _standing(fit: SpeedFit, key: str, pool_key: str) -> tuple[float, float, str] | None:
    """How a family with no runs on this backend stands to its kind's pooled fit on the other backends that measured
    it (the same chip's memory system and front end, whatever the software): the geometric means of its stream
    efficiency and of its fixed time per layer over the pool's, and those backends. None where no other backend has
    both fits."""
    backend, family = key.split(":", 1)
    pool = pool_key.split(":", 1)[1]
    others = sorted({k.split(":", 1)[0] for k in fit.decode} - {backend})
    ratios = [(b, fit.decode[f"{b}:{family}"], fit.decode[f"{b}:{pool}"]) for b in others
              if f"{b}:{family}" in fit.decode and f"{b}:{pool}" in fit.decode]
    ratios = [(b, own, kind) for b, own, kind in ratios if kind.stream_efficiency > 0 and kind.per_layer_s > 0]
    if not ratios:
        return None
    eff = math.prod(own.stream_efficiency / kind.stream_efficiency for _, own, kind in ratios) ** (1 / len(ratios))
    tau = math.prod(own.per_layer_s / kind.per_layer_s for _, own, kind in ratios) ** (1 / len(ratios))
    return eff, tau, ", ".join(b for b, _, _ in ratios)


def _prefill(fit: SpeedFit, backend: str, keys: tuple[str, str], start: float | None) -> tuple[float | None, str]:
    """A device's prefill efficiency and what it rests on: the fit of its backend:family (else backend:class, the
    key the fit used for it), else its backend's pooled one (one vote per device), else the other fits near it,
    else the class's starting value. `keys`: (the decode key, backend:class)."""
    key = next((k for k in keys if k in fit.prefill), None)
    pooled = fit.prefill_pooled_by_backend.get(backend)
    if key is not None or pooled is not None:
        sample = fit.prefill_samples.get(key or f"{backend}:*")
        what = f"prefill fitted for {key}" if key else f"prefill: {backend}'s pooled efficiency (no {keys[0]} runs)"
        return (fit.prefill[key] if key else pooled), f"{what} on {sample.describe()}" if sample else what
    if start is None:
        return None, ""
    same = near(keys[1], fit.prefill)[0]
    return (_median(same), "prefill: the median of the fits near it") if same else (start, "")


def own_band(band: ErrorBand | None) -> bool:
    """Whether a backend:class's band is its own to show: MIN_BAND_ROWS predictions from MIN_BAND_DEVICES devices."""
    return band is not None and band.n >= MIN_BAND_ROWS and band.devices >= MIN_BAND_DEVICES


def _band(bands: dict[str, ErrorBand], keys: tuple[str, ...]) -> ErrorBand | None:
    """The first of these keys' bands that is its own to show (own_band), else every key's ("all"): a decode key's,
    else its backend's keys' together (speed.ranges, whose coverage check picks the same way)."""
    return next((b for b in (bands.get(k) for k in keys) if own_band(b)), bands.get("all"))


def band_range(value: float | None, band: ErrorBand | None) -> tuple[float, float] | None:
    """The measured value a prediction stands for, 80 % of the time: value / (1 + p90) .. value / (1 + p10)."""
    if value is None or band is None:
        return None
    return value / (1 + band.high), value / (1 + band.low)
