"""Presenters for local, calibrate and doctor: what was found, fitted or probed on this machine -> View."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from advisor.present.view import Line, Section, View, table

if TYPE_CHECKING:
    from advisor.local.scan import LocalModel


def local_view(found: list[LocalModel]) -> View:
    """The GGUF files found in the local stores, with the catalog model each matches."""
    results = tuple({"source": f.source, "name": f.name, "path": str(f.path), "size_bytes": f.size_bytes,
                     "model_id": f.model_id} for f in found)
    grid = table(["Source", "Name", "GiB", "Catalog model"],
                 [[f.source, f.name, f"{f.size_bytes / 2**30:.1f}", f.model_id or "—"] for f in found],
                 left=frozenset({"Source", "Name", "Catalog model"}), widths={"Name": 60},
                 names=frozenset({"Name"}))
    if not found:
        none = Line("No GGUF models found in Ollama's store, LM Studio, or the llama.cpp / Hugging Face caches.")
        return View("local", results=results, sections=(Section(before=(none,)),), main=grid)
    return View("local", results=results, sections=(Section(table=grid),))


def calibration_view(outcome: dict[str, Any]) -> View:
    """The factors fitted from the user's llama-bench rows, where they were saved, and the rows left out."""
    cal = outcome["calibration"]
    saved = Line(f"{cal['device']}: decode x{cal['decode_factor'] or 1:.2f}, prefill x{cal['prefill_factor'] or 1:.2f} "
                 f"from {cal['rows']} rows; saved to {outcome['path']}. Later estimates for this GPU say "
                 "'calibrated locally'.")
    skipped = tuple(Line(f"skipped: {reason}", dim=True) for reason in outcome["skipped"])
    rows = [[r["model"], r["quant"], r["kind"], f"{r['measured_tokens_per_s']:g}", f"{r['estimated_tokens_per_s']:g}"]
            for r in outcome["rows"]]
    grid = table(["Model", "Quant", "Test", "Measured t/s", "Estimated t/s"], rows,
                 left=frozenset({"Model", "Quant", "Test"}))
    return View("calibrate", results=tuple(outcome["rows"]),
                extra={"calibration": cal, "skipped": outcome["skipped"]},
                sections=(Section(before=(saved, *skipped)),), main=grid)


def doctor_view(report: dict[str, Any]) -> View:
    """The bug-report data (already redacted); for people one row per item, probes as compact JSON."""
    rows = [["python", str(report["python"])], ["platform", str(report["platform"])],
            ["machine", str(report["machine"])]]
    rows += [[f"version: {name}", str(version)] for name, version in report["versions"].items()]
    rows += [[f"probe: {name}", json.dumps(raw, sort_keys=True, default=str)] for name, raw in report["probes"].items()]
    grid = table(["Item", "Value"], rows, left=frozenset({"Item", "Value"}), fold=frozenset({"Value"}))
    return View("doctor", results=(report,), sections=(Section(table=grid),), notes=tuple(report["notes"]))
