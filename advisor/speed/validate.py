"""Leave-one-device-out validation of the speed model on the published measurements, and its summaries. Pure.

Each device (a GPU id, or a CPU by name) is predicted by constants fitted without any of its measurements;
`advisor validate` reports the errors and docs/accuracy.md is generated from them.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from advisor.engines import TILED_EXPERT_PREFILL
from advisor.estimate.constants import APU_CLASS, SpeedTable
from advisor.specs import Defaults
from advisor.specs.facts import Catalog
from advisor.specs.measured import Measurement, SpeedFit
from advisor.speed import ranges
from advisor.speed.cases import MIN_DEVICES, Case, cases, predict
from advisor.speed.fit import FLAT_MOE_FACTORS, SHIPPED, Variant, fit
from advisor.speed.prefill_fit import DEEP_TOKENS

# issue 14's two slices of the prefill runs with a bound of their own: gpt-oss's runs and the APUs' (an AMD or NVIDIA
# chip sharing the machine's memory)
PREFILL_SLICES: dict[str, Callable[[Case], bool]] = {
    "gpt-oss": lambda c: c.m.model.startswith("gpt-oss"),
    "APU": lambda c: c.device_class == APU_CLASS,
}


@dataclass(frozen=True, slots=True)
class Prediction:
    case: Case
    predicted_tokens_per_s: float

    @property
    def error(self) -> float:
        return self.predicted_tokens_per_s / self.case.m.tokens_per_s - 1


def leave_one_device_out(rows: list[Case], defaults: Defaults, variant: Variant = SHIPPED) -> list[Prediction]:
    """Each device predicted by constants fitted without any of its measurements, through the shipped lookup."""
    out = []
    rows = variant.rows(rows)
    for group in sorted({c.group for c in rows}):
        table = SpeedTable(fit([c for c in rows if c.group != group], defaults, variant), defaults,
                           family_standing=variant.family_standing)
        for c in (c for c in rows if c.group == group):
            value = predict(table, c)
            if value is not None:
                out.append(Prediction(c, value))
    return out


def summarize(predictions: list[Prediction]) -> dict[str, float | int]:
    return error_summary([p.error for p in predictions])


def error_summary(errors: list[float]) -> dict[str, float | int]:
    """n, median and 90th percentile absolute error, median signed error (signed: predicted / measured - 1)."""
    errs = sorted(abs(e) for e in errors)
    if not errs:
        return {"n": 0, "median_abs_error": 0.0, "p90_abs_error": 0.0, "median_error": 0.0}
    p90 = errs[min(len(errs) - 1, int(0.9 * len(errs)))]
    return {"n": len(errs), "median_abs_error": statistics.median(errs), "p90_abs_error": p90,
            "median_error": statistics.median(errors)}


def device_interval(errors: list[tuple[str, float]], draws: int = 1000, seed: int = 0) -> tuple[float, float]:
    """The 5th and 95th percentiles of the median absolute error over `draws` redraws of the devices with replacement
    (each (device, error) pair a held-out run): a device's runs err together, so the device is the unit drawn. How
    much a figure owes to which devices happen to be measured, not how wrong any one prediction is."""
    import random  # lazily: only `validate` needs it

    by_device: dict[str, list[float]] = {}
    for device, error in errors:
        by_device.setdefault(device, []).append(abs(error))
    devices, rng, medians = sorted(by_device), random.Random(seed), []
    for _ in range(draws):
        drawn = [e for d in rng.choices(devices, k=len(devices)) for e in by_device[d]]
        medians.append(statistics.median(drawn))
    medians.sort()
    return medians[int(0.05 * draws)], medians[min(draws - 1, int(0.95 * draws))]


@dataclass(frozen=True, slots=True)
class Validation:
    """Leave-one-device-out predictions of every usable measurement, and what was left out and why."""

    predictions: tuple[Prediction, ...]
    skipped: tuple[tuple[Measurement, str], ...]
    fitted: SpeedFit

    def of(self, kind: str) -> list[Prediction]:
        return [p for p in self.predictions if p.case.m.kind == kind]

    def by(self, kind: str, attribute: str) -> dict[str, dict[str, float | int]]:
        """Summaries per backend, backend:class, engine, dense/MoE, depth band, build year, or device."""
        groups: dict[str, list[Prediction]] = {}
        for p in self.of(kind):
            groups.setdefault(_label(p.case, attribute), []).append(p)
        return {label: summarize(ps) for label, ps in sorted(groups.items())}

    def interval(self, kind: str) -> tuple[float, float]:
        """The median absolute error's spread over redraws of the devices measured (device_interval)."""
        return device_interval([(p.case.group, p.error) for p in self.of(kind)])

    def coverage(self, kind: str) -> dict[str, tuple[int, int]]:
        """Per backend and in all: held-out runs inside the range they would have been shown (ranges.coverage)."""
        return ranges.coverage(self.of(kind), kind)

    def band_calibration(self, kind: str) -> dict[int, tuple[int, int]]:
        """A key's own band's hits by the devices it rests on (ranges.band_calibration)."""
        return ranges.band_calibration(self.of(kind), kind)


def held_out_basis(p: Prediction, predictions: list[Prediction]) -> str:
    """What a held-out prediction had to go on, from the other devices' runs of its kind: its constants' key and how
    many other devices inform it (none: its backend's pooled constants), and where the prediction lacked a term the
    fit gives only where 2+ devices inform it (the attention ratio for runs at depth, the BF16/F16 ratio)."""
    c, kind = p.case, p.case.m.kind

    def key_of(case: Case) -> str:
        return case.key if kind == "decode" else case.prefill_key

    others = [q.case for q in predictions if q.case.group != c.group and q.case.m.kind == kind]
    key = key_of(c)
    peers = {q.group for q in others if key_of(q) == key}
    parts = [_split_label(c)] if c.m.device_count > 1 else []
    same = [q for q in others if q.backend == c.backend]
    pooled = f"{c.backend}'s pooled constants" if same else f"no other {c.backend} device: stand-in constants"
    parts.append(f"{key} from {len(peers)} other device{'s' if len(peers) > 1 else ''}" if peers
                 else f"no other {key} device: {pooled}")
    standing = sorted({q.backend for q in others if c.family and q.family == c.family and q.backend != c.backend})
    if kind == "decode" and not peers and same and standing:
        parts[-1] += f", scaled as {c.family} stands on {' and '.join(standing)}"
    if kind == "prefill":
        deep = {q.group for q in same if not q.moe and q.work.depth_tokens >= DEEP_TOKENS}
        if c.work.depth_tokens >= DEEP_TOKENS and len(deep) < MIN_DEVICES:
            parts.append(f"no {c.backend} attention ratio (runs at depth from under {MIN_DEVICES} other devices)")
        wide = {q.group for q in same if q.work.weight_kind == "float"}
        if c.work.weight_kind == "float" and len(wide) < MIN_DEVICES:
            parts.append(f"no {c.backend} BF16/F16 ratio (such runs from under {MIN_DEVICES} other devices)")
    return "; ".join(parts)


def _label(c: Case, attribute: str) -> str:
    m = c.m
    if attribute == "engine":
        return m.engine
    if attribute == "moe":
        return "MoE" if c.moe else "dense"
    if attribute == "depth":
        return "0" if m.depth_tokens == 0 else "1-8k" if m.depth_tokens <= 8192 else "8k-32k" \
            if m.depth_tokens <= 32768 else "over 32k"
    if attribute == "year":
        return m.date[:4] if m.date else "not stated"
    if attribute == "split":
        return _split_label(c)
    return m.backend if attribute == "backend" else c.key if attribute == "class" else c.group


def _split_label(c: Case) -> str:
    """One device, or several and how they share the model: whole layers in turn (llama.cpp's layer split), every
    layer split at once (llama.cpp -sm tensor, vLLM's tensor parallelism)."""
    n = c.m.device_count
    if n == 1:
        return "1 device"
    return f"{n} GPUs, {'tensor parallel' if c.tensor_parallel > 1 else 'layer split'}"


def validate(catalog: Catalog) -> Validation:
    """Fit on everything (the constants we ship) and predict each device from a fit without it."""
    rows, skipped = cases(catalog)
    predictions = leave_one_device_out(rows, catalog.defaults)
    return Validation(tuple(predictions), tuple(skipped), fit(rows, catalog.defaults))


VARIANTS = {
    "shipped: decode constants per GPU architecture and Apple generation, each pulled toward its kind's pooled fit "
    "(a family with no runs on a backend: that pooled fit scaled as the family stands on the backends that measured "
    "it), an integrated GPU's pulled toward its backend's discrete-GPU pool as if that were one more device; "
    "a MoE layer's fixed cost grows with its routed experts per token, one cost per expert for every backend and a "
    "backend's own where its MoE runs come from two devices, one MoE prefill ratio for every backend (on CUDA and "
    "ROCm scaled by the tokens each expert gets in a pass), prefill attention at its own fitted share of the matmul "
    "rate and reading the cache it attends to once per block of prompt tokens (the block fitted), "
    "prefill efficiency per architecture and Apple generation too, pulled toward its backend's pooled one as "
    "if the pool were one more device, and a family with no runs at that pooled efficiency (one vote per device)":
        SHIPPED,
    "discrete GPUs' decode constants per backend:class (consumer, workstation: the market segment), not per "
    "architecture": Variant(families=False),
    "architectures and Apple generations pulled toward their class's starting values, not their kind's pooled fit":
        Variant(pooled=False),
    "a family with no decode runs on a backend at its kind's pooled fit alone, not scaled as it stands to its kind on "
    "the backends that measured it (shipped until round 13's runs)": Variant(family_standing=False),
    "integrated GPUs' decode constants pulled lightly toward the APU class's starting values, not toward their "
    "backend's discrete-GPU pool (shipped until round 17's runs)": Variant(apu_pool_devices=0),
    "one per-expert cost shared by every backend (shipped until round 13's runs)": Variant(per_backend=False),
    "the MoE prefill ratio per backend too (where MoE runs on 2+ devices)": Variant(prefill_per_backend=True),
    "one fixed cost per MoE layer whatever its top-k (before issue 14)": Variant(FLAT_MOE_FACTORS, per_backend=False,
                                                                                 flat_moe=True),
    "the per-expert cost picked on the median relative error, not the mean absolute log error": Variant(
        moe_objective="median"),
    "no MoE layer cost (a MoE layer costs what a dense one does)": Variant((0.0,), per_backend=False),
    "one MoE prefill ratio whatever the tokens each expert gets in a pass (before: no tile term on CUDA)":
        Variant(tiled_backends=frozenset()),
    "the tile term on CUDA only (ROCm with one ratio, as shipped from the Radeon 890M's runs until round 12's)":
        Variant(tiled_backends=TILED_EXPERT_PREFILL - {"rocm"}),
    "the tile term on Vulkan too (llama.cpp's Vulkan shaders also run each expert's rows as matmul tiles)":
        Variant(tiled_backends=TILED_EXPERT_PREFILL | {"vulkan"}),
    "the tile term on Vulkan too, and the MoE prefill ratio per backend (where MoE runs on 2+ devices)":
        Variant(prefill_per_backend=True, tiled_backends=TILED_EXPERT_PREFILL | {"vulkan"}),
    "recency: a build a year older than the newest weighs half in the decode fit": Variant(half_life_years=1.0),
    "no CPU core bound (CPU decode from RAM bandwidth alone, whatever its thread count)": Variant(
        cpu_compute=(None,)),
    "no attention ratio (prefill attention over the context at the matmul rate)": Variant(attention=False),
    "no cache term (a prompt token's attention costs its FLOPs alone, not also the cache bytes it reads; shipped until "
    "stop 40)": Variant(cache_queries=(None,)),
    "BF16 and F16 weights' prefill matmuls at a fitted share of the quantized types' efficiency (the weight-kind "
    "ratio, shipped until round 12's runs)": Variant(weight_kinds=frozenset({"float"})),
    "a prefill's output head once per pass (llama.cpp computes logits for a pass's last token only), not per prompt "
    "token": Variant(head_once_per_pass=True),
    "MXFP4 files' prefill at a ratio of their own (fitted on gpt-oss's runs: a model term in disguise)":
        Variant(weight_kinds=frozenset({"mxfp4"})),
    "a device's prefill efficiency from its dense runs where it has any (its MoE runs inform its family's and its "
    "backend's efficiency only where it has none)": Variant(dense_first=True),
    "prefill efficiency per backend:class (the market segment), not per GPU architecture and Apple generation":
        Variant(prefill_families=False),
    "prefill efficiency per family at its own median, not pulled toward its backend's pool (shipped until round "
    "13's runs)": Variant(prefill_pool_devices=0),
    "a backend:class with no prefill runs takes the median of its backend's other classes, not the backend's "
    "pooled efficiency (one vote per device)": Variant(pooled_prefill=False),
}


def ablation(catalog: Catalog) -> dict[str, dict[str, dict[str, float | int]]]:
    """Decode and prefill errors of each variant, by the same leave-one-device-out procedure."""
    rows, _ = cases(catalog)
    out = {}
    for label, variant in VARIANTS.items():
        predictions = leave_one_device_out(rows, catalog.defaults, variant)
        out[label] = {kind: summarize([p for p in predictions if p.case.m.kind == kind])
                      for kind in ("decode", "prefill")}
        out[label]["moe decode"] = summarize([p for p in predictions if p.case.m.kind == "decode" and p.case.moe])
        out[label]["cpu decode"] = summarize([p for p in predictions
                                              if p.case.m.kind == "decode" and p.case.backend == "cpu"])
        out[label]["deep prefill"] = summarize([p for p in predictions
                                                if p.case.m.kind == "prefill" and p.case.work.depth_tokens >= 4096])
        for name, selects in PREFILL_SLICES.items():
            out[label][f"{name} prefill"] = summarize([p for p in predictions
                                                       if p.case.m.kind == "prefill" and selects(p.case)])
    return out
