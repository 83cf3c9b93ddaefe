"""Run `advisor calibrate`: read the user's llama-bench file, compare with our estimates, save the factors."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from advisor.catalog.files import MAX_FILE_BYTES
from advisor.errors import UsageError
from advisor.estimate.estimator import Estimator, Request
from advisor.estimate.machine import hypothetical, match_spec, resolve
from advisor.specs import Device, ModelSpec
from advisor.specs.facts import Catalog
from advisor.specs.measured import LocalCalibration
from advisor.speed.bench_file import BenchRow, device_label, factor, parse_bench
from advisor.speed.store import save_local_calibration


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UsageError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise UsageError(f"cannot read {path} ({err.strerror or err})") from err


def _device_id(rows: list[BenchRow], catalog: Catalog, device: str | None) -> str:
    if device is not None:
        return catalog.gpu(device).id
    names = {row.gpu for row in rows if row.gpu}
    if len(names) != 1:
        raise UsageError("the file names no single GPU (gpu_info); pass --device")
    name = device_label(names.pop())
    spec = match_spec(Device(name=name, vendor="nvidia", kind="discrete", memory_total_bytes=1), catalog)
    return spec.id if spec else catalog.gpu(name).id


def _model(row: BenchRow, catalog: Catalog) -> ModelSpec | None:
    close = [m for m in catalog.models if abs(m.params_total / row.params - 1) <= 0.05]
    family = row.model_type.split()[0].lower() if row.model_type else ""
    close.sort(key=lambda m: (family not in m.family.replace("-", "") and family not in m.id,
                              abs(m.params_total / row.params - 1)))
    return close[0] if close else None


def run_calibration(catalog: Catalog, path: Path, device: str | None) -> dict[str, Any]:
    rows = parse_bench(_read(path))
    device_id = _device_id(rows, catalog, device)
    ram = catalog.defaults.hypothetical_ram_bytes
    machine = resolve(hypothetical(None, catalog, gpu=device_id, ram_bytes=ram), catalog)
    est = Estimator(catalog)  # the shipped constants without any local calibration: a rerun fits the same factors
    pairs: dict[str, list[tuple[float, float]]] = {"decode": [], "prefill": []}
    table, skipped = [], []
    for row in rows:
        model = _model(row, catalog)
        if model is None or row.quant is None or row.ngl < 1:
            skipped.append(f"{row.model_type}: no catalog model within 5 % of its parameters, unknown file type, "
                           "or not on the GPU")
            continue
        depth = row.depth_tokens + (row.tokens // 2 if row.kind == "decode" else 0)
        e = est.estimate(model, catalog.recipe(row.quant), machine,
                         Request(context_tokens=max(depth + row.tokens, 512), depth_tokens=depth))
        value = e.speed.decode_tokens_per_s if row.kind == "decode" else e.speed.prefill_tokens_per_s
        if value is None:
            skipped.append(f"{row.model_type}: no estimate to compare ({e.placement.kind})")
            continue
        pairs[row.kind].append((row.tokens_per_s, value))
        table.append({"model": model.id, "quant": row.quant, "kind": row.kind,
                      "measured_tokens_per_s": row.tokens_per_s, "estimated_tokens_per_s": round(value, 1)})
    if not table:
        raise UsageError("no row of the file matched a catalog model and file type; nothing to calibrate")
    entry = LocalCalibration(device_id, factor(pairs["decode"]), factor(pairs["prefill"]), len(table), path.name)
    saved = save_local_calibration(entry, datetime.date.today().isoformat())
    calibration = {"device": device_id, "decode_factor": entry.decode_factor, "prefill_factor": entry.prefill_factor,
                   "rows": entry.rows, "source": entry.source}
    return {"rows": table, "skipped": skipped, "calibration": calibration, "path": str(saved)}
