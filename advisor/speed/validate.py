"""Leave-one-device-out validation of the speed model on the published measurements, and its summaries. Pure.

Each device (a GPU id, or a CPU by name) is predicted by constants fitted without any of its measurements;
`advisor validate` reports the errors and docs/accuracy.md is generated from them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from advisor.estimate.constants import SpeedTable
from advisor.specs import Defaults
from advisor.specs.facts import Catalog
from advisor.specs.measured import Measurement, SpeedFit
from advisor.speed.fit import (
    FLAT_MOE_FACTORS,
    SHIPPED,
    Case,
    Variant,
    cases,
    fit,
    predict,
)


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
        table = SpeedTable(fit([c for c in rows if c.group != group], defaults, variant), defaults)
        for c in (c for c in rows if c.group == group):
            value = predict(table, c)
            if value is not None:
                out.append(Prediction(c, value))
    return out


def summarize(predictions: list[Prediction]) -> dict[str, float | int]:
    errs = sorted(abs(p.error) for p in predictions)
    if not errs:
        return {"n": 0, "median_abs_error": 0.0, "p90_abs_error": 0.0, "median_error": 0.0}
    p90 = errs[min(len(errs) - 1, int(0.9 * len(errs)))]
    return {"n": len(errs), "median_abs_error": statistics.median(errs), "p90_abs_error": p90,
            "median_error": statistics.median(p.error for p in predictions)}


def band(predictions: list[Prediction]) -> dict[str, float | int]:
    """10th and 90th percentiles of the signed error, for the ranges shown beside every estimate."""
    errs = sorted(p.error for p in predictions)
    n = len(errs)
    return {"low": round(errs[int(0.1 * (n - 1))], 4), "high": round(errs[int(0.9 * (n - 1))], 4), "n": n}


@dataclass(frozen=True, slots=True)
class Validation:
    """Leave-one-device-out predictions of every usable measurement, and what was left out and why."""

    predictions: tuple[Prediction, ...]
    skipped: tuple[tuple[Measurement, str], ...]
    fitted: SpeedFit

    def of(self, kind: str) -> list[Prediction]:
        return [p for p in self.predictions if p.case.m.kind == kind]

    def by(self, kind: str, attribute: str) -> dict[str, dict[str, float | int]]:
        groups: dict[str, list[Prediction]] = {}
        for p in self.of(kind):
            label = p.case.m.backend if attribute == "backend" else p.case.key if attribute == "class" \
                else p.case.group
            groups.setdefault(label, []).append(p)
        return {label: summarize(ps) for label, ps in sorted(groups.items())}


def validate(catalog: Catalog) -> Validation:
    """Fit on everything (the constants we ship) and predict each device from a fit without it."""
    rows, skipped = cases(catalog)
    predictions = leave_one_device_out(rows, catalog.defaults)
    return Validation(tuple(predictions), tuple(skipped), fit(rows, catalog.defaults))


VARIANTS = {
    "shipped: a MoE layer's fixed cost grows with its routed experts per token, one cost per expert and one MoE "
    "prefill ratio for every backend": SHIPPED,
    "per-expert cost and MoE prefill ratio per backend (where MoE runs on 2+ devices)": Variant(),
    "one fixed cost per MoE layer whatever its top-k (before issue 14)": Variant(FLAT_MOE_FACTORS, False, True),
    "no MoE layer cost (a MoE layer costs what a dense one does)": Variant((0.0,), False),
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
    return out
