"""`advisor calibrate`: a user's own llama-bench results -> per-device factors on our estimates. Pure.

llama-bench -o json (a list) or -o jsonl (one object per line) rows carry gpu_info, model_type (architecture, size
and file type), model_size (bytes), model_n_params, n_prompt, n_gen, n_depth and avg_ts. Each row is matched to the
catalog model with the nearest parameter count (within 5 %) and its file type; the device's factor is the median of
measured / estimated, separately for decode (tg) and prefill (pp).
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from typing import Any

from advisor.errors import UsageError

_FTYPES = {"q4_k - medium": "Q4_K_M", "q4_k - small": "Q4_K_S", "q5_k - medium": "Q5_K_M", "q5_k - small": "Q5_K_S",
           "q3_k - medium": "Q3_K_M", "q3_k - large": "Q3_K_L", "q3_k - small": "Q3_K_S", "q2_k - medium": "Q2_K",
           "q6_k": "Q6_K", "q8_0": "Q8_0", "q4_0": "Q4_0", "f16": "F16", "bf16": "BF16", "mxfp4 moe": "MXFP4"}


@dataclass(frozen=True, slots=True)
class BenchRow:
    gpu: str
    model_type: str
    quant: str | None
    params: int
    kind: str  # decode | prefill
    tokens: int
    depth_tokens: int
    tokens_per_s: float
    ngl: int


def parse_bench(text: str) -> list[BenchRow]:
    """Rows of llama-bench JSON or JSONL output; an unreadable file is a UsageError naming what is wrong."""
    text = text.strip()
    try:
        data = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line]
    except ValueError as err:
        msg = f"not llama-bench JSON or JSONL output ({err})"
        raise UsageError(msg) from err
    rows = [row for item in data if (row := _row(item)) is not None]
    if not rows:
        raise UsageError("no usable llama-bench rows (each needs gpu_info, model_type, n_prompt/n_gen and avg_ts)")
    return rows


def _row(item: Any) -> BenchRow | None:
    if not isinstance(item, dict):
        return None
    try:
        n_prompt, n_gen, speed = int(item["n_prompt"]), int(item["n_gen"]), float(item["avg_ts"])
        gpu, model_type, params = str(item.get("gpu_info") or ""), str(item["model_type"]), int(item["model_n_params"])
    except (KeyError, TypeError, ValueError):
        return None
    if speed <= 0 or (n_prompt > 0) == (n_gen > 0):
        return None
    quant = next((q for key, q in _FTYPES.items() if model_type.lower().endswith(key)), None)
    return BenchRow(gpu=gpu.split(",", maxsplit=1)[0].strip(), model_type=model_type, quant=quant, params=params,
                    kind="decode" if n_gen else "prefill", tokens=n_gen or n_prompt,
                    depth_tokens=int(item.get("n_depth") or 0), tokens_per_s=speed,
                    ngl=int(item.get("n_gpu_layers") or 99))


def factor(pairs: list[tuple[float, float]]) -> float | None:
    """Median of measured / estimated over (measured, estimated) pairs."""
    ratios = [measured / estimated for measured, estimated in pairs if estimated > 0]
    return statistics.median(ratios) if ratios else None


def device_label(gpu_info: str) -> str:
    return re.sub(r"\s+", " ", gpu_info).strip()
