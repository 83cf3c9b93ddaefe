"""Which speed constants apply to a device, and the error band that goes with them. Pure.

Order: the user's own calibration (advisor calibrate) scales the result; the constants come from the fit on
published measurements for the device's backend:class (catalog/speed_fit.yaml), else from the fit of the same
backend or the same class, else from the starting values in catalog/defaults.yaml.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TypeVar

from advisor.specs import Defaults
from advisor.specs.measured import ErrorBand, SpeedFit

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Constants:
    stream_efficiency: float
    per_layer_s: float
    prefill_efficiency: float | None
    basis: str
    decode_band: ErrorBand | None
    prefill_band: ErrorBand | None


def near(key: str, table: dict[str, T]) -> tuple[list[T], str]:
    """Stand-ins for a backend:class with no fit of its own: the fits of the same backend, else of the same
    class, with a label for the basis; ([], "") when neither has any. Shared by the shipped estimate and by
    the cross-validation, so what is validated is what ships."""
    backend, device_class = key.split(":", 1)
    for group, label in (([v for k, v in table.items() if k.startswith(f"{backend}:")], f"{backend}:*"),
                         ([v for k, v in table.items() if k.endswith(f":{device_class}")], f"*:{device_class}")):
        if group:
            return group, label
    return [], ""


def speed_key(backend: str, device_class: str, gpu_id: str | None = None) -> str:
    """backend:class, with Apple split by chip generation (m1, m2, ...): their GPUs reach different shares of
    their memory bandwidth."""
    if device_class == "apple" and gpu_id and gpu_id.startswith("m") and "-" in gpu_id:
        return f"{backend}:apple-{gpu_id.split('-')[0]}"
    return f"{backend}:{device_class}"


def constants(fit: SpeedFit | None, defaults: Defaults, backend: str, device_class: str,
              gpu_id: str | None = None) -> Constants:
    """Decode and prefill constants for one device, and the basis to report."""
    key = speed_key(backend, device_class, gpu_id)
    start = defaults.speed_classes.get(device_class) or defaults.speed_classes["consumer"]
    if fit is None:
        return Constants(start.stream_efficiency, start.per_layer_s, start.prefill_efficiency,
                         f"starting values for {device_class} (no fit available)", None, None)
    own = fit.decode.get(key)
    if own is not None:
        eff, tau = own.stream_efficiency, own.per_layer_s
        basis = f"fitted for {key} on {own.rows} measurements from {own.devices} devices"
    else:
        stand_ins, label = near(key, fit.decode)
        if stand_ins:
            eff = statistics.median(f.stream_efficiency for f in stand_ins)
            tau = statistics.median(f.per_layer_s for f in stand_ins)
            basis = f"no measurements for {key}; constants of {label} (median of {len(stand_ins)} fits)"
        else:
            eff, tau = start.stream_efficiency, start.per_layer_s
            basis = f"no measurements for {key}; starting values for {device_class}"
    prefill = fit.prefill.get(f"{backend}:{device_class}")
    if prefill is None and start.prefill_efficiency is not None:
        same = near(f"{backend}:{device_class}", fit.prefill)[0]
        prefill = statistics.median(same) if same else start.prefill_efficiency
    band = fit.decode_bands.get(key) if key in fit.decode_bands and fit.decode_bands[key].n >= 8 else None
    base = f"{backend}:{device_class}"
    pband = fit.prefill_bands.get(base) if base in fit.prefill_bands and fit.prefill_bands[base].n >= 8 else None
    return Constants(eff, tau, prefill, basis, band or fit.decode_bands.get("all"),
                     pband or fit.prefill_bands.get("all"))


def band_range(value: float | None, band: ErrorBand | None) -> tuple[float, float] | None:
    """The measured value a prediction stands for, 80 % of the time: value / (1 + p90) .. value / (1 + p10)."""
    if value is None or band is None:
        return None
    return value / (1 + band.high), value / (1 + band.low)
