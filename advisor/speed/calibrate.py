"""Run `advisor calibrate`: read the user's llama-bench file, compare with our estimates, save the factors.

Rows run on the GPU calibrate that device; rows with n_gpu_layers 0 calibrate the CPU lane (store key "cpu"). A row
whose measured speed is outside x0.05..x20 of our estimate is skipped with its reason (another model, file type or
device): no factor outside that range is ever saved.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

from advisor.catalog.files import MAX_FILE_BYTES
from advisor.errors import UsageError
from advisor.estimate.estimator import Estimator, Request
from advisor.estimate.machine import Machine, hypothetical, match_spec, resolve
from advisor.readfile import FileRefused, read_bytes
from advisor.specs import Device, ModelSpec
from advisor.specs.facts import Catalog
from advisor.specs.measured import LocalCalibration
from advisor.speed.bench_file import BenchRow, device_label, factor, parse_bench
from advisor.speed.store import CPU_DEVICE, FACTOR_RANGE, StoreInvalid, check_source, save_local_calibration


def _read(path: Path) -> str:
    try:
        return read_bytes(path, MAX_FILE_BYTES).decode("utf-8", errors="replace")
    except FileRefused as err:
        raise UsageError(str(err)) from err
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


def _cpu_machine(catalog: Catalog) -> Machine:
    """This machine's CPU as later CPU-only estimates see it: no GPU, its cores (they bound CPU decode), and the RAM
    bandwidth measured by `advisor hardware --measure-ram` when there is one (else the same assumed value those
    estimates use); RAM enough for any row (the bench ran here)."""
    from advisor.hardware import probe, rambw
    from advisor.paths import cache_dir

    found = rambw.cached(cache_dir())
    bandwidth = (float(found["gbps"]), "measured") if found is not None else None
    hw = hypothetical(probe(gpus=False), catalog, gpu="none", ram_bytes=catalog.defaults.hypothetical_ram_bytes)
    return resolve(hw, catalog, ram_bandwidth=bandwidth)


def _test(row: BenchRow) -> str:
    kind = "tg" if row.kind == "decode" else "pp"
    depth = f" @ d{row.depth_tokens}" if row.depth_tokens else ""
    return f"{row.model_type} {kind}{row.tokens}{depth}{' on the CPU' if row.ngl < 1 else ''}"


def _compare(rows: list[BenchRow], catalog: Catalog, machine: Machine, est: Estimator,
             table: list[dict[str, Any]], skipped: list[str]) -> dict[str, list[tuple[float, float]]]:
    """(measured, estimated) per kind for the rows that match a catalog model and file type; a reason for the rest."""
    pairs: dict[str, list[tuple[float, float]]] = {"decode": [], "prefill": []}
    low, high = FACTOR_RANGE
    for row in rows:
        model = _model(row, catalog)
        if model is None or row.quant is None:
            skipped.append(f"{_test(row)}: " + ("no catalog model within 5 % of its parameters" if model is None
                                                  else "unknown file type"))
            continue
        depth = row.depth_tokens + (row.tokens // 2 if row.kind == "decode" else 0)
        e = est.estimate(model, catalog.recipe(row.quant), machine,
                         Request(context_tokens=max(depth + row.tokens, 512), depth_tokens=depth))
        value = e.speed.decode_tokens_per_s if row.kind == "decode" else e.speed.prefill_tokens_per_s
        if value is None or not math.isfinite(value) or value <= 0:
            skipped.append(f"{_test(row)}: no estimate to compare ({e.placement.kind})")
            continue
        ratio = row.tokens_per_s / value
        if not low <= ratio <= high:
            skipped.append(f"{_test(row)}: measured {row.tokens_per_s:g} t/s is x{ratio:.3g} our estimate of "
                           f"{value:.1f} t/s, outside x{low:g}..x{high:g} (another model, file type or device?)")
            continue
        pairs[row.kind].append((row.tokens_per_s, value))
        table.append({"model": model.id, "quant": row.quant, "kind": row.kind,
                      "measured_tokens_per_s": row.tokens_per_s, "estimated_tokens_per_s": round(value, 1)})
    return pairs


def run_calibration(catalog: Catalog, path: Path, device: str | None) -> dict[str, Any]:
    """Fit and save the factors of the device the file was run on (and of the CPU, for rows with n_gpu_layers 0).

    Every estimate compared is the shipped one, without any local calibration: a rerun fits the same factors.
    """
    try:
        source = check_source(path.name)
    except StoreInvalid as err:
        raise UsageError(f"results file {path.name!r}: its name is stored as the factors' source and must be "
                         "printable and not blank; rename the file") from err
    rows, skipped = parse_bench(_read(path))
    gpu_rows, cpu_rows = [r for r in rows if r.ngl >= 1], [r for r in rows if r.ngl < 1]
    est = Estimator(catalog)  # the shipped constants without any local calibration
    table: list[dict[str, Any]] = []
    entries: list[LocalCalibration] = []
    groups: list[tuple[str, list[BenchRow], Machine]] = []
    if gpu_rows:
        device_id = _device_id(gpu_rows, catalog, device)
        ram = catalog.defaults.hypothetical_ram_bytes
        groups.append((device_id, gpu_rows, resolve(hypothetical(None, catalog, gpu=device_id, ram_bytes=ram),
                                                    catalog)))
    if cpu_rows:
        groups.append((CPU_DEVICE, cpu_rows, _cpu_machine(catalog)))
    for device_id, group, machine in groups:
        before = len(table)
        pairs = _compare(group, catalog, machine, est, table, skipped)
        if len(table) > before:
            entries.append(LocalCalibration(device_id, factor(pairs["decode"]), factor(pairs["prefill"]),
                                            len(table) - before, source))
    if not entries:
        why = f": {'; '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}" if skipped else ""
        raise UsageError(f"no row of the file matched a catalog model and file type; nothing to calibrate{why}")
    today = datetime.date.today().isoformat()
    try:
        saved = [save_local_calibration(entry, today) for entry in entries]
    except StoreInvalid as err:  # a factor the loader would refuse: never written
        raise UsageError(f"not saved: {err}") from err
    described = [{"device": e.device, "decode_factor": e.decode_factor, "prefill_factor": e.prefill_factor,
                  "rows": e.rows, "source": e.source} for e in entries]
    return {"rows": table, "skipped": skipped, "calibration": {**described[0], "entries": described},
            "path": str(saved[0])}
