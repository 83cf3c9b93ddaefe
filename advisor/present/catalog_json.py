"""Catalog entries -> JSON-ready dicts (advisor models / gpus / model), the results of their views."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from advisor.specs import GpuSpec, ModelSpec, UseScore


def model_dict(model: ModelSpec, score: UseScore | None = None) -> dict[str, Any]:
    """Every fact of a model, with its sources: the catalog entry as loaded and validated."""
    data = asdict(model)
    data["moe"] = data.pop("moe")
    data["is_moe"] = model.is_moe
    data["use_score"] = None if score is None else asdict(score)
    return data


def gpu_dict(gpu: GpuSpec) -> dict[str, Any]:
    return asdict(gpu)
